//! The application in-process (zero2prod's `spawn_app`): `Application::build` on port 0, served
//! on a thread of this test process — for the tests whose point is the API, not the process
//! (its start, signals, logs, several servers). Same settings, same routes, same store code;
//! no binary to spawn and no free port to race for (port 0 is taken at bind time).
//!
//! It lives here, not in `touchstone-testkit`: testkit is a dev-dependency of the server (and
//! of the store and plugin host), so testkit depending on the server would build the server for
//! every crate's tests and give the server's own tests a second copy of its types.

use touchstone_server::settings::Settings;
use touchstone_server::startup::{Application, Background};
use touchstone_testkit::binary::TempDir;

/// A running in-process application; stopped when dropped.
pub struct TestApp {
    app: Background,
    _dir: TempDir,
}

impl TestApp {
    /// Starts the application with `overrides` (`TOUCHSTONE__…` names, as for the binary) over
    /// the defaults; its definition, plugin and binding directories are a fresh empty directory.
    pub fn spawn(overrides: &[(&str, &str)]) -> TestApp {
        let dir = TempDir::new("touchstone-app");
        let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        let (experiments, plugins) = (path("experiments"), path("plugins"));
        let (bindings, cache) = (path("touchpoints"), path("compiled"));
        let mut settings = vec![
            ("TOUCHSTONE__SERVER__BIND", "127.0.0.1:0"),
            ("TOUCHSTONE__SERVER__WORKERS", "2"),
            ("TOUCHSTONE__EXPERIMENTS__DIR", experiments.as_str()),
            ("TOUCHSTONE__PLUGINS__DIR", plugins.as_str()),
            ("TOUCHSTONE__PLUGINS__BINDINGS_DIR", bindings.as_str()),
            ("TOUCHSTONE__PLUGINS__CACHE_DIR", cache.as_str()),
        ];
        settings.extend_from_slice(overrides);
        let settings = Settings::with_overrides(&settings).expect("valid test settings");
        let app = Application::spawn(settings).expect("the application starts");
        TestApp { app, _dir: dir }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.app.port())
    }
}
