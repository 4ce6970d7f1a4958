DROP TABLE bulk_job_results;
DROP TABLE bulk_jobs;
