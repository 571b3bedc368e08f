//! Logging from a plugin through the only host import, `touchstone.log`. The host attaches the
//! plugin's name and version and bounds how much a call may log. Off wasm32 (a plugin's own
//! unit tests) the line goes to stderr.

use crate::abi::{LOG_DEBUG, LOG_ERROR, LOG_INFO, LOG_WARN};

pub fn error(message: &str) {
    write(LOG_ERROR, message);
}

pub fn warn(message: &str) {
    write(LOG_WARN, message);
}

pub fn info(message: &str) {
    write(LOG_INFO, message);
}

pub fn debug(message: &str) {
    write(LOG_DEBUG, message);
}

#[cfg(target_arch = "wasm32")]
fn write(level: u32, message: &str) {
    host::log(
        level,
        message.as_ptr() as usize as u32,
        message.len() as u32,
    );
}

#[cfg(not(target_arch = "wasm32"))]
fn write(level: u32, message: &str) {
    eprintln!("plugin log (level {level}): {message}");
}

#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)] // Declaring the import needs `unsafe extern`; it only takes integers.
mod host {
    #[link(wasm_import_module = "touchstone")]
    unsafe extern "C" {
        /// `touchstone.log(level, ptr, len)`: the host reads `len` bytes at `ptr` as UTF-8.
        pub safe fn log(level: u32, ptr: u32, len: u32);
    }
}
