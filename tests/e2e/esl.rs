//! A minimal FreeSWITCH event socket (ESL) client: authenticate, run `api`
//! commands, read events.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One ESL message: headers and body.
#[derive(Debug, Default)]
pub struct Message {
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// A connection to mod_event_socket.
pub struct Esl {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Esl {
    /// Connects and authenticates.
    pub fn connect(port: u16, password: &str) -> std::io::Result<Esl> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let writer = stream.try_clone()?;
        let mut esl = Esl {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = esl.read_message()?;
        if greeting.headers.get("Content-Type").map(String::as_str) != Some("auth/request") {
            return Err(std::io::Error::other(format!(
                "unexpected greeting {greeting:?}"
            )));
        }
        esl.send(&format!("auth {password}"))?;
        let reply = esl.read_message()?;
        match reply.headers.get("Reply-Text") {
            Some(text) if text.starts_with("+OK") => Ok(esl),
            other => Err(std::io::Error::other(format!("auth refused: {other:?}"))),
        }
    }

    fn send(&mut self, command: &str) -> std::io::Result<()> {
        self.writer.write_all(command.as_bytes())?;
        self.writer.write_all(b"\n\n")?;
        self.writer.flush()
    }

    /// Reads one message (headers, then a body of Content-Length bytes).
    pub fn read_message(&mut self) -> std::io::Result<Message> {
        let mut msg = Message::default();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "socket closed",
                ));
            }
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                if msg.headers.is_empty() {
                    continue;
                }
                break;
            }
            if let Some((k, v)) = line.split_once(": ") {
                msg.headers.insert(k.to_string(), v.to_string());
            }
        }
        if let Some(len) = msg.headers.get("Content-Length") {
            let len: usize = len.parse().unwrap_or(0);
            let mut body = vec![0u8; len];
            self.reader.read_exact(&mut body)?;
            msg.body = String::from_utf8_lossy(&body).into_owned();
        }
        Ok(msg)
    }

    /// Runs an API command and returns its output.
    pub fn api(&mut self, command: &str) -> String {
        self.send(&format!("api {command}")).expect("send api");
        loop {
            let msg = self.read_message().expect("api response");
            if msg.headers.get("Content-Type").map(String::as_str) == Some("api/response") {
                return msg.body;
            }
        }
    }

    /// Subscribes to events, e.g. `plain CUSTOM callscreen::verdict`.
    pub fn subscribe(&mut self, spec: &str) {
        self.send(&format!("event {spec}")).expect("send event");
        loop {
            let msg = self.read_message().expect("event reply");
            if msg.headers.get("Content-Type").map(String::as_str) == Some("command/reply") {
                let reply = msg.headers.get("Reply-Text").cloned().unwrap_or_default();
                assert!(reply.starts_with("+OK"), "event {spec}: {reply}");
                return;
            }
        }
    }

    /// The next plain event, its headers decoded; `None` on timeout.
    pub fn next_event(&mut self, timeout: Duration) -> Option<BTreeMap<String, String>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(std::time::Instant::now())?;
            self.reader
                .get_ref()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .ok()?;
            let msg = self.read_message().ok()?;
            if msg.headers.get("Content-Type").map(String::as_str) != Some("text/event-plain") {
                continue;
            }
            let mut headers = BTreeMap::new();
            for line in msg.body.lines() {
                if let Some((k, v)) = line.split_once(": ") {
                    headers.insert(k.to_string(), url_decode(v));
                }
            }
            return Some(headers);
        }
    }
}

/// Decodes the %XX escapes ESL uses in plain event headers.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
