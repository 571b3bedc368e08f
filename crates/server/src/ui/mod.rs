//! The results dashboard under `/ui`: server-rendered HTML with inline SVG charts, one small
//! script and one stylesheet compiled into the binary. Pages read the same services as the JSON
//! API, so they show the same numbers; actions go through the admin API from the page's script.

pub mod charts;
pub mod export;
pub mod format;
pub mod forms;
pub mod handlers;
pub mod layout;
pub mod pace;
pub mod pages;
