//! CPU time of the processes under load, read from `/proc/<pid>/stat` before and after a
//! measured stretch. On a machine shared with other work, throughput moves with whatever else
//! runs; the CPU a process spent per request does not (much), so it is the figure to compare
//! between the server, Redis and the bare endpoint.

use serde::Serialize;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// A process whose CPU time is read, named for the report.
#[derive(Debug, Clone)]
pub struct Watched {
    pub name: &'static str,
    pub pid: u32,
}

/// utime + stime of every thread of `pid` (live and exited: the kernel folds an exited
/// thread's time into its process), in seconds; `None` when `/proc` cannot tell.
pub fn process_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    busy_ticks(&stat).map(|ticks| ticks as f64 / ticks_per_second())
}

/// utime + stime, in clock ticks, from one `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces and parentheses, so fields are counted from the last `)`.
fn busy_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    // After the name: state (field 3) … utime is field 14, stime field 15.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `USER_HZ`, the unit of `/proc/<pid>/stat` times: `getconf CLK_TCK`, else 100 (what Linux
/// exports on every common architecture).
fn ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|out| String::from_utf8(out.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

/// CPU seconds of each watched process at one moment.
#[derive(Debug, Clone)]
pub struct Sample(Vec<(Watched, Option<f64>)>);

impl Sample {
    pub fn take(watched: &[Watched]) -> Sample {
        Sample(
            watched
                .iter()
                .map(|process| (process.clone(), process_seconds(process.pid)))
                .collect(),
        )
    }

    /// CPU seconds each process spent since `earlier` (same processes, same order).
    pub fn since(&self, earlier: &Sample) -> Vec<Spent> {
        self.0
            .iter()
            .zip(&earlier.0)
            .filter_map(|((process, after), (_, before))| {
                Some(Spent {
                    process: process.name,
                    pid: process.pid,
                    seconds: (*after)? - (*before)?,
                })
            })
            .collect()
    }
}

/// CPU seconds one process spent over a measured stretch.
#[derive(Debug, Clone, Serialize)]
pub struct Spent {
    pub process: &'static str,
    pub pid: u32,
    pub seconds: f64,
}

/// The pid of the Redis server behind `url` (`redis://[user:password@]host[:port][/db]`), from
/// `INFO server`'s `process_id`, when it runs on this machine (a loopback host) and `/proc`
/// shows it. Anything else (another host, a Cluster, no answer) is `None`: its CPU is then
/// not reported.
pub fn local_redis_pid(url: &str) -> Option<u32> {
    let rest = url.strip_prefix("redis://")?;
    let authority = rest.split('/').next().unwrap_or(rest);
    let (password, host_port) = match authority.rsplit_once('@') {
        Some((userinfo, host_port)) => {
            let password = userinfo.rsplit(':').next().unwrap_or(userinfo);
            (Some(password.to_owned()), host_port)
        }
        None => (None, authority),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:6379")
    };
    let addr = host_port.to_socket_addrs().ok()?.next()?;
    if !addr.ip().is_loopback() {
        return None;
    }
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    if let Some(password) = password.filter(|p| !p.is_empty()) {
        stream.write_all(&resp_command(&["AUTH", &password])).ok()?;
        let mut line = String::new();
        BufReader::new(&mut stream).read_line(&mut line).ok()?;
        if !line.starts_with('+') {
            return None;
        }
    }
    stream.write_all(&resp_command(&["INFO", "server"])).ok()?;
    let info = read_bulk(&mut stream)?;
    let pid = info
        .lines()
        .find_map(|line| line.strip_prefix("process_id:"))?
        .trim()
        .parse()
        .ok()?;
    process_seconds(pid).map(|_| pid)
}

fn resp_command(parts: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", parts.len());
    for part in parts {
        out.push_str(&format!("${}\r\n{part}\r\n", part.len()));
    }
    out.into_bytes()
}

/// One RESP bulk string (`$<len>\r\n<bytes>\r\n`).
fn read_bulk(stream: &mut TcpStream) -> Option<String> {
    let mut reader = BufReader::new(stream);
    let mut header = String::new();
    reader.read_line(&mut header).ok()?;
    let len: usize = header.strip_prefix('$')?.trim().parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    String::from_utf8(body).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_lines_give_user_plus_system_ticks_even_with_odd_names() {
        // Fields from proc(5): pid (comm) state ppid pgrp session tty tpgid flags minflt
        // cminflt majflt cmajflt utime stime ...
        let line =
            "4242 (touch stone) (x)) S 1 4242 4242 0 -1 4194560 900 0 3 0 1234 567 0 0 20 0 9";
        assert_eq!(busy_ticks(line), Some(1234 + 567));
        assert_eq!(busy_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_spent_some_cpu() {
        let started = std::time::Instant::now();
        let mut x = 0u64;
        while started.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        assert!(x > 0);
        let seconds = process_seconds(std::process::id()).expect("/proc/self is readable");
        assert!(seconds > 0.0, "{seconds}");
    }

    #[test]
    fn a_local_redis_is_found_by_the_pid_it_reports() {
        let redis = touchstone_testkit::redis::RedisServer::start();
        let pid = local_redis_pid(&redis.url()).expect("a local Redis's pid");
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).expect("its /proc entry");
        assert!(comm.starts_with("redis-server"), "{comm}");
        assert!(process_seconds(pid).is_some());
    }

    #[test]
    fn redis_pids_are_looked_up_only_on_loopback() {
        assert_eq!(local_redis_pid("memory://"), None);
        assert_eq!(local_redis_pid("redis://192.0.2.1:6379/0"), None);
        assert_eq!(
            resp_command(&["INFO", "server"]),
            b"*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n".to_vec()
        );
    }
}
