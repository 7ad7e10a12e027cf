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
}
