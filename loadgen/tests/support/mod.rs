//! Local servers with known behaviour, started inside a test on 127.0.0.1.
//! Each connection has a thread of its own (the client keeps a pool of
//! keep-alive connections, a few dozen at the rates tested); every thread
//! ends when its client closes, and the listener's when the test's
//! `Server` is dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use lab_core::scenario::{self, Scenario};

/// How the server answers.
#[derive(Clone, Copy, Debug)]
pub enum Behaviour {
    /// 200 after this long (an OS sleep, accurate to about 0.1 ms).
    Delay(Duration),
    /// This status at once.
    Status(u16),
    /// Reads the request and never answers.
    Hang,
    /// Closes the connection with the request unread: the kernel sends a
    /// reset.
    Reset,
}

pub struct Server {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Server {
    pub fn start(b: Behaviour) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((c, _)) => {
                        let s = s.clone();
                        thread::spawn(move || serve(c, b, &s));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(1)),
                }
            }
        });
        Server { addr, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A port with nothing listening on it.
pub fn refused_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    format!("http://{addr}")
}

fn serve(mut c: TcpStream, b: Behaviour, stop: &AtomicBool) {
    c.set_nodelay(true).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !stop.load(Ordering::Relaxed) {
        if let Behaviour::Reset = b {
            // Wait for the request to arrive, then close with it unread.
            let mut one = [0u8; 1];
            if matches!(c.peek(&mut one), Ok(n) if n > 0) {
                return;
            }
            continue;
        }
        match c.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(_) => return,
        }
        while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..end + 4);
            let status = match b {
                Behaviour::Delay(d) => {
                    thread::sleep(d);
                    200
                }
                Behaviour::Status(s) => s,
                Behaviour::Hang => {
                    // Hold the connection until the client gives up.
                    while !stop.load(Ordering::Relaxed) {
                        match c.read(&mut chunk) {
                            Ok(0) => return,
                            Ok(_) => {}
                            Err(e)
                                if matches!(
                                    e.kind(),
                                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                                ) => {}
                            Err(_) => return,
                        }
                    }
                    return;
                }
                Behaviour::Reset => unreachable!(),
            };
            let body = b"ok\n";
            let head = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: keep-alive\r\n\r\n",
                body.len()
            );
            if c.write_all(head.as_bytes()).and_then(|_| c.write_all(body)).is_err() {
                return;
            }
        }
    }
}

/// A scenario with one endpoint `home` and `traffic` as its [traffic]
/// table's body, over `duration`, with 1 s windows.
pub fn scenario(duration: &str, traffic: &str) -> Scenario {
    let text = format!(
        "duration = \"{duration}\"\n[stats]\nwindow = \"1s\"\n[traffic]\n{traffic}\n\
         [app.endpoints.home]\nsteps = [{{ cpu = \"1ms\" }}]\n[eras.stone]\n"
    );
    scenario::parse(&text, Path::new("drive-test.toml")).unwrap()
}
