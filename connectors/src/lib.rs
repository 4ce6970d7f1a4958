//! Outbound provisioning connectors: they carry out the actions the provisioning plan decides.
