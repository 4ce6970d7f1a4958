//! A small SMTP server on 127.0.0.1 for tests: it accepts every message and keeps it, so a test
//! can check what the server under test really sent over the wire.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One message as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent after DATA (headers and body), with dot-stuffing undone.
    pub data: String,
}

/// A listening SMTP server that records what it receives.
pub struct SmtpListener {
    pub port: u16,
    received: Arc<Mutex<Vec<ReceivedMail>>>,
}

impl SmtpListener {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind SMTP listener");
        let port = listener.local_addr().expect("address").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let _ = session(stream, &sink);
                });
            }
        });
        Self { port, received }
    }

    pub fn received(&self) -> Vec<ReceivedMail> {
        self.received.lock().expect("mail lock").clone()
    }

    /// Waits until at least `count` messages arrived, and returns them all.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "expected {count} messages, got {}: {received:?}",
                received.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn session(stream: TcpStream, sink: &Mutex<Vec<ReceivedMail>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 test-smtp ready\r\n")?;
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_owned();
        let upper = command.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            writer.write_all(b"250-test-smtp\r\n250 8BITMIME\r\n")?;
        } else if upper.starts_with("HELO") {
            writer.write_all(b"250 test-smtp\r\n")?;
        } else if upper.starts_with("MAIL FROM:") {
            from = command[10..].trim().to_owned();
            to.clear();
            writer.write_all(b"250 OK\r\n")?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(command[8..].trim().trim_matches(['<', '>']).to_owned());
            writer.write_all(b"250 OK\r\n")?;
        } else if upper == "DATA" {
            writer.write_all(b"354 end with <CRLF>.<CRLF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            sink.lock().expect("mail lock").push(ReceivedMail {
                from: from.clone(),
                to: to.clone(),
                data,
            });
            writer.write_all(b"250 queued\r\n")?;
        } else if upper == "QUIT" {
            writer.write_all(b"221 bye\r\n")?;
            return Ok(());
        } else {
            // RSET, NOOP and anything else: accept.
            writer.write_all(b"250 OK\r\n")?;
        }
    }
}
