//! Script calls written straight into one command buffer, and loaded again when Redis lost
//! the script. `redis::ScriptInvocation` keeps every key and argument in its own `Vec<u8>` and
//! copies them into the command afterwards; the events script takes ~7 of them per event (350
//! allocations a batch of 50, a tenth of the server's CPU on `/v1/events` in a profile). Here
//! keys and arguments are formatted into two flat buffers, then into one `Cmd`.

use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, RedisWrite, Script, ServerErrorKind};
use redis::{ToRedisArgs, aio::ConnectionLike};
use std::fmt;
use std::io::Write;

/// A list of Redis arguments in one buffer: `data` holds them back to back, `ends` where each
/// one ends.
#[derive(Debug, Default)]
pub(super) struct Args {
    data: Vec<u8>,
    ends: Vec<usize>,
}

impl Args {
    pub fn with_capacity(args: usize) -> Self {
        Self {
            data: Vec::with_capacity(args * 24),
            ends: Vec::with_capacity(args),
        }
    }

    /// One argument formatted in place (a number, a key built from parts: `keys::Key`).
    pub fn push_display(&mut self, arg: impl fmt::Display) -> &mut Self {
        // Writing into a Vec<u8> cannot fail.
        let _ = write!(self.data, "{arg}");
        self.ends.push(self.data.len());
        self
    }

    pub fn push(&mut self, arg: impl AsRef<[u8]>) -> &mut Self {
        self.data.extend_from_slice(arg.as_ref());
        self.ends.push(self.data.len());
        self
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }
}

impl ToRedisArgs for Args {
    fn write_redis_args<W: ?Sized + RedisWrite>(&self, out: &mut W) {
        let mut start = 0;
        for &end in &self.ends {
            out.write_arg(&self.data[start..end]);
            start = end;
        }
    }
}

/// `EVALSHA` of `script` with `keys` and `args`.
pub(super) async fn invoke<T: FromRedisValue>(
    script: &Script,
    keys: &Args,
    args: &Args,
    connection: &mut impl ConnectionLike,
) -> RedisResult<T> {
    let mut command = Cmd::with_capacity(
        3 + keys.len() + args.len(),
        keys.data.len() + args.data.len() + 64,
    );
    command
        .arg("EVALSHA")
        .arg(script.get_hash())
        .arg(keys.len())
        .arg(keys)
        .arg(args);
    query(script, &command, connection).await
}

/// Sends `command`, an `EVALSHA` of `script`; loads the script and retries once when the
/// server does not know it (a restart without persistence, `SCRIPT FLUSH`, a new Cluster
/// node), as `ScriptInvocation` does.
pub(super) async fn query<T: FromRedisValue>(
    script: &Script,
    command: &Cmd,
    connection: &mut impl ConnectionLike,
) -> RedisResult<T> {
    match command.query_async(connection).await {
        Err(error) if error.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            script.prepare_invoke().load_async(connection).await?;
            command.query_async(connection).await
        }
        answer => answer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_keep_their_boundaries() {
        let mut args = Args::with_capacity(2);
        args.push_display(format_args!("{}:u:{}", "{exp:a}:p1", "unit 1"))
            .push("")
            .push_display(42)
            .push("x");
        let mut command = redis::cmd("EVALSHA");
        command.arg(&args);
        let written: Vec<Vec<u8>> = command
            .args_iter()
            .map(|arg| match arg {
                redis::Arg::Simple(bytes) => bytes.to_vec(),
                other => panic!("not a plain argument: {other:?}"),
            })
            .collect();
        assert_eq!(
            written,
            [
                b"EVALSHA".to_vec(),
                b"{exp:a}:p1:u:unit 1".to_vec(),
                Vec::new(),
                b"42".to_vec(),
                b"x".to_vec()
            ]
        );
    }
}
