//! Prism, an OpenAPI mock that nobody here wrote, serving the spec with request validation
//! on (`--errors`). It comes from npm (`npm ci`, pinned by package-lock.json).

use std::{
    net::{TcpListener, TcpStream},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A Prism mock on a free loopback port; killed when dropped.
#[derive(Debug)]
pub struct Prism {
    child: Child,
    /// Its base URL.
    pub base: String,
}

impl Prism {
    /// Starts Prism on the spec and waits until it listens.
    pub fn start() -> Prism {
        let root = crate::root();
        let bin = root.join("node_modules/.bin/prism");
        assert!(
            bin.exists(),
            "Prism is not installed: run `npm ci` (cargo xtask test does)"
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args([
                "mock",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "--errors",
            ])
            .arg(root.join("openapi/cloudcockpit.yaml"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting prism");
        let prism = Prism {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "Prism did not start in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prism
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
