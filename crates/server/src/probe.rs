//! `touchstone probe URL`: a dependency-free HTTP health probe for container health checks
//! (the runtime image carries no curl).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Ok when `url` (plain `http://host:port/path`) answers with a 2xx status within 3 seconds.
pub fn probe(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// URLs can be probed, got {url}"))?;
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    };
    let address = authority
        .to_socket_addrs()
        .map_err(|error| format!("resolving {authority}: {error}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to no address"))?;
    let timeout = Duration::from_secs(3);
    let mut stream = TcpStream::connect_timeout(&address, timeout)
        .map_err(|error| format!("connecting to {authority}: {error}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|error| error.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|error| format!("sending the request: {error}"))?;
    let mut head = [0u8; 12];
    stream
        .read_exact(&mut head)
        .map_err(|error| format!("reading the answer: {error}"))?;
    let status = std::str::from_utf8(&head[9..12]).unwrap_or("???");
    if status.starts_with('2') {
        Ok(())
    } else {
        Err(format!("{url} answered {status}"))
    }
}
