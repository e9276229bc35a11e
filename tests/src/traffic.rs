//! Traffic through a service proxy: backends that answer every TCP connection and UDP datagram
//! with their own name, clients inside a network namespace that report which backend answered,
//! and polling until a condition holds.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

use crate::Netns;

/// Connect and read timeout of a [`Client`] unless set otherwise.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// An open TCP connection to a backend, read line by line.
pub type Conn = BufReader<TcpStream>;

/// Sends TCP connections and UDP datagrams from one network namespace.
#[derive(Debug, Clone, Copy)]
pub struct Client<'a> {
    ns: &'a Netns,
    timeout: Duration,
}

impl<'a> Client<'a> {
    /// A client in `ns` with [`TIMEOUT`].
    pub fn new(ns: &'a Netns) -> Self {
        Self {
            ns,
            timeout: TIMEOUT,
        }
    }

    /// The same client with another connect and read timeout.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// A TCP connection to `to` (`ip:port`, `[ip6]:port`) and the first line the backend sent.
    pub fn connect(&self, to: &str) -> std::io::Result<(Conn, String)> {
        let addr = parse(to);
        let stream = self
            .ns
            .run(|| TcpStream::connect_timeout(&addr, self.timeout))?;
        stream.set_read_timeout(Some(self.timeout))?;
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        Ok((reader, line.trim().to_string()))
    }

    /// Which backends `n` fresh TCP connections to `to` reached; panics when one fails.
    pub fn tcp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        (0..n)
            .map(|_| self.connect(to).unwrap_or_else(|e| panic!("{to}: {e}")).1)
            .collect()
    }

    /// Which backends `n` datagrams from fresh sockets to `to` reached; panics when one gets
    /// no answer.
    pub fn udp_backends(&self, to: &str, n: usize) -> BTreeSet<String> {
        let addr = parse(to);
        let any: SocketAddr = if addr.is_ipv4() {
            "0.0.0.0:0".parse().unwrap()
        } else {
            "[::]:0".parse().unwrap()
        };
        (0..n)
            .map(|_| {
                let sock = self.ns.run(|| UdpSocket::bind(any)).unwrap();
                sock.set_read_timeout(Some(self.timeout)).unwrap();
                sock.send_to(b"who\n", addr).unwrap();
                let mut buf = [0u8; 64];
                let (len, _) = sock
                    .recv_from(&mut buf)
                    .unwrap_or_else(|e| panic!("{to}: {e}"));
                String::from_utf8_lossy(&buf[..len]).trim().to_string()
            })
            .collect()
    }
}

/// Sends `line` on an open connection and returns the backend's answer (`<name> <line>`).
pub fn exchange(conn: &mut Conn, line: &str) -> std::io::Result<String> {
    writeln!(conn.get_mut(), "{line}")?;
    let mut answer = String::new();
    conn.read_line(&mut answer)?;
    Ok(answer.trim().to_string())
}

fn parse(to: &str) -> SocketAddr {
    to.parse()
        .unwrap_or_else(|e| panic!("{to} is no socket address: {e}"))
}

/// Binds TCP and UDP on `ip:port` inside `ns` for every address of `ips` and serves each with
/// [`serve_tcp`] and [`serve_udp`], named by its address.
pub fn spawn_backends(ns: &Netns, ips: &[&str], port: u16) {
    let sockets = ns.run(|| {
        ips.iter()
            .map(|ip| {
                let addr = SocketAddr::new(ip.parse().unwrap(), port);
                let tcp = TcpListener::bind(addr)
                    .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
                let udp =
                    UdpSocket::bind(addr).unwrap_or_else(|e| panic!("cannot bind {addr}: {e}"));
                (ip.to_string(), tcp, udp)
            })
            .collect::<Vec<_>>()
    });
    for (ip, tcp, udp) in sockets {
        serve_tcp(&ip, tcp);
        serve_udp(&ip, udp);
    }
}

/// Answers every connection on `listener` with a line `name`, then each line it receives with
/// `name <line>`, on background threads.
pub fn serve_tcp(name: &str, listener: TcpListener) {
    let name = name.to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let name = name.clone();
            std::thread::spawn(move || {
                let mut writer = stream.try_clone().unwrap();
                if writeln!(writer, "{name}").is_err() {
                    return;
                }
                for line in BufReader::new(stream).lines() {
                    let Ok(line) = line else { return };
                    if writeln!(writer, "{name} {line}").is_err() {
                        return;
                    }
                }
            });
        }
    });
}

/// Answers every datagram on `sock` with a line `name`, on a background thread.
pub fn serve_udp(name: &str, sock: UdpSocket) {
    let name = name.to_string();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok((_, from)) = sock.recv_from(&mut buf) {
            let _ = sock.send_to(format!("{name}\n").as_bytes(), from);
        }
    });
}

/// Calls `check` every `interval` until it holds (true) or `timeout` has passed (false).
pub fn eventually(timeout: Duration, interval: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(interval);
    }
}
