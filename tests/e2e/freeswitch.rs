#![allow(dead_code)] // harness parts that only some tests use
//! Starts a real FreeSWITCH in a temporary directory with a minimal,
//! loopback-only config, and stops it (killing it if need be) on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::esl::Esl;

/// Where FreeSWITCH is installed.
#[derive(Clone, Debug)]
pub struct Install {
    pub bin: PathBuf,
    pub fs_cli: PathBuf,
    pub mod_dir: PathBuf,
}

/// Finds FreeSWITCH: `FREESWITCH_PREFIX`, else /usr/local/freeswitch, else
/// `freeswitch` on PATH.
pub fn find_install() -> Option<Install> {
    let from_prefix = |prefix: &Path| -> Option<Install> {
        let bin = prefix.join("bin/freeswitch");
        let mod_dir = [prefix.join("lib/freeswitch/mod"), prefix.join("mod")]
            .into_iter()
            .find(|d| d.is_dir())?;
        bin.exists().then(|| Install {
            fs_cli: prefix.join("bin/fs_cli"),
            bin,
            mod_dir,
        })
    };
    if let Ok(prefix) = std::env::var("FREESWITCH_PREFIX") {
        return from_prefix(Path::new(&prefix));
    }
    if let Some(install) = from_prefix(Path::new("/usr/local/freeswitch")) {
        return Some(install);
    }
    let path = std::env::var_os("PATH")?;
    let bin = std::env::split_paths(&path)
        .map(|d| d.join("freeswitch"))
        .find(|p| p.exists())?;
    let prefix = bin.parent()?.parent()?;
    from_prefix(prefix).or_else(|| {
        let mod_dir = PathBuf::from("/usr/lib/freeswitch/mod");
        mod_dir.is_dir().then(|| Install {
            fs_cli: bin.with_file_name("fs_cli"),
            bin: bin.clone(),
            mod_dir,
        })
    })
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// The module under test: target/<profile>/libmod_callscreen.so.
pub fn module_path() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let path = exe
        .parent()
        .and_then(Path::parent)
        .expect("target dir")
        .join("libmod_callscreen.so");
    assert!(
        path.exists(),
        "{} is missing: run `cargo build` first (`make test` does)",
        path.display()
    );
    path
}

const PASSWORD: &str = "ClueCon";

/// A running FreeSWITCH.
pub struct FreeSwitch {
    install: Install,
    child: Option<Child>,
    pub dir: PathBuf,
    pub esl_port: u16,
    pub sip_port: u16,
}

impl FreeSwitch {
    /// Lays out a temporary FreeSWITCH with our module in its mod dir, the
    /// YAML as `conf/callscreen.yaml`, the dialplan extensions in context
    /// `default`, and starts it.
    pub fn start(install: &Install, name: &str, yaml: &str, extensions: &str) -> FreeSwitch {
        FreeSwitch::start_with_sip(install, name, yaml, extensions, None)
    }

    /// Like [`FreeSwitch::start`], and with `public` set also a SIP profile
    /// (mod_sofia) on 127.0.0.1:`sip_port` whose calls enter the dialplan
    /// context `public` holding those extensions, as calls from a carrier do.
    pub fn start_with_sip(
        install: &Install,
        name: &str,
        yaml: &str,
        extensions: &str,
        public: Option<&str>,
    ) -> FreeSwitch {
        let dir =
            std::env::temp_dir().join(format!("callscreen-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for sub in [
            "conf",
            "log",
            "db",
            "run",
            "mod",
            "tmp",
            "storage",
            "cache",
            "recordings",
            "sounds",
        ] {
            std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
        }
        // The host's modules by symlink, ours by copy (as `make install` would).
        for entry in std::fs::read_dir(&install.mod_dir)
            .expect("read mod dir")
            .flatten()
        {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "so") {
                let _ = std::os::unix::fs::symlink(&path, dir.join("mod").join(entry.file_name()));
            }
        }
        std::fs::copy(module_path(), dir.join("mod/mod_callscreen.so")).expect("copy module");
        std::fs::write(dir.join("conf/callscreen.yaml"), yaml).expect("write yaml");

        let esl_port = free_port();
        let sip_port = free_port();
        std::fs::write(
            dir.join("conf/freeswitch.xml"),
            freeswitch_xml(esl_port, sip_port, extensions, public),
        )
        .expect("write freeswitch.xml");

        let mut fs = FreeSwitch {
            install: install.clone(),
            child: None,
            dir,
            esl_port,
            sip_port,
        };
        fs.launch();
        fs
    }

    fn launch(&mut self) {
        let d = &self.dir;
        let arg = |s: &str| d.join(s).into_os_string();
        let child = Command::new(&self.install.bin)
            .args(["-nf", "-nc", "-nonat", "-nonatmap", "-nocal"])
            .arg("-conf")
            .arg(arg("conf"))
            .arg("-log")
            .arg(arg("log"))
            .arg("-db")
            .arg(arg("db"))
            .arg("-run")
            .arg(arg("run"))
            .arg("-mod")
            .arg(arg("mod"))
            .arg("-temp")
            .arg(arg("tmp"))
            .arg("-storage")
            .arg(arg("storage"))
            .arg("-cache")
            .arg(arg("cache"))
            .arg("-recordings")
            .arg(arg("recordings"))
            .arg("-sounds")
            .arg(arg("sounds"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("log/stderr.log")).expect("stderr log"))
            .spawn()
            .expect("start freeswitch");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(mut esl) = Esl::connect(self.esl_port, PASSWORD) {
                if esl.api("status").contains("is ready") {
                    return;
                }
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "FreeSWITCH exited during startup ({status}); log:\n{}",
                    self.log_tail(60)
                );
            }
            assert!(
                Instant::now() < deadline,
                "FreeSWITCH not ready after 60 s; log:\n{}",
                self.log_tail(60)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// A new event-socket connection.
    pub fn esl(&self) -> Esl {
        Esl::connect(self.esl_port, PASSWORD).expect("connect to event socket")
    }

    /// Runs a command through fs_cli (`fs_cli -x`), as an administrator would.
    pub fn fs_cli(&self, command: &str) -> String {
        let out = Command::new(&self.install.fs_cli)
            .args([
                "-H",
                "127.0.0.1",
                "-P",
                &self.esl_port.to_string(),
                "-p",
                PASSWORD,
                "-x",
                command,
            ])
            .output()
            .expect("run fs_cli");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The last lines of FreeSWITCH's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("log/freeswitch.log")).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// The whole log.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log/freeswitch.log")).unwrap_or_default()
    }

    /// Stops FreeSWITCH: `shutdown` over ESL, then SIGKILL if it lingers.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Ok(mut esl) = Esl::connect(self.esl_port, PASSWORD) {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                esl.api("fsctl shutdown")
            }));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Kills FreeSWITCH with SIGKILL (a crash) and starts it again with the same directories.
    pub fn kill_and_restart(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.launch();
    }

    /// Stops FreeSWITCH cleanly and starts it again with the same directories.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for FreeSwitch {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!(
                "FreeSWITCH directory kept for inspection: {}",
                self.dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn freeswitch_xml(esl_port: u16, sip_port: u16, extensions: &str, public: Option<&str>) -> String {
    let (sofia_module, sofia_conf, public_context) = match public {
        None => (String::new(), String::new(), String::new()),
        Some(public) => (
            r#"<load module="mod_sofia"/>"#.to_string(),
            sofia_xml(sip_port),
            format!("<context name=\"public\">\n{public}\n    </context>"),
        ),
    };
    format!(
        r#"<?xml version="1.0"?>
<document type="freeswitch/xml">
  <X-PRE-PROCESS cmd="set" data="domain=127.0.0.1"/>
  <X-PRE-PROCESS cmd="set" data="domain_name=127.0.0.1"/>
  <X-PRE-PROCESS cmd="set" data="e2e_sip_port={sip_port}"/>
  <section name="configuration" description="e2e">
    <configuration name="switch.conf" description="core">
      <settings>
        <param name="max-sessions" value="500"/>
        <param name="sessions-per-second" value="500"/>
        <param name="loglevel" value="debug"/>
        <param name="rtp-start-port" value="{rtp_start}"/>
        <param name="rtp-end-port" value="{rtp_end}"/>
      </settings>
    </configuration>
    <configuration name="modules.conf" description="modules">
      <modules>
        <load module="mod_logfile"/>
        <load module="mod_event_socket"/>
        <load module="mod_commands"/>
        <load module="mod_dptools"/>
        <load module="mod_hash"/>
        <load module="mod_dialplan_xml"/>
        <load module="mod_loopback"/>
        <load module="mod_tone_stream"/>
        <load module="mod_sndfile"/>
        {sofia_module}
      </modules>
    </configuration>
    <configuration name="logfile.conf" description="log">
      <settings><param name="rotate-on-hup" value="true"/></settings>
      <profiles>
        <profile name="default">
          <settings><param name="rollover" value="104857600"/></settings>
          <mappings><map name="all" value="debug,info,notice,warning,err,crit,alert"/></mappings>
        </profile>
      </profiles>
    </configuration>
    <configuration name="event_socket.conf" description="ESL">
      <settings>
        <param name="listen-ip" value="127.0.0.1"/>
        <param name="listen-port" value="{esl_port}"/>
        <param name="password" value="ClueCon"/>
        <param name="apply-inbound-acl" value="loopback.auto"/>
      </settings>
    </configuration>
    {sofia_conf}
  </section>
  <section name="dialplan" description="e2e">
    <context name="default">
{extensions}
    </context>
    {public_context}
  </section>
</document>
"#,
        rtp_start = 20000 + (esl_port % 1000) * 20,
        rtp_end = 20000 + (esl_port % 1000) * 20 + 19,
    )
}

/// A SIP profile on loopback for sipp: no registration or authentication,
/// PCMU only, calls into context `public`. DTMF is FreeSWITCH's default:
/// RFC 2833 when the caller offers telephone-event, SIP INFO otherwise.
fn sofia_xml(sip_port: u16) -> String {
    format!(
        r#"<configuration name="sofia.conf" description="sofia">
      <global_settings>
        <param name="log-level" value="0"/>
      </global_settings>
      <profiles>
        <profile name="e2e">
          <settings>
            <param name="context" value="public"/>
            <param name="dialplan" value="XML"/>
            <param name="sip-ip" value="127.0.0.1"/>
            <param name="rtp-ip" value="127.0.0.1"/>
            <param name="sip-port" value="{sip_port}"/>
            <param name="rtp-timer-name" value="soft"/>
            <param name="auth-calls" value="false"/>
            <param name="accept-blind-reg" value="false"/>
            <param name="inbound-codec-prefs" value="PCMU"/>
            <param name="outbound-codec-prefs" value="PCMU"/>
            <param name="manage-presence" value="false"/>
            <param name="enable-timer" value="false"/>
          </settings>
        </profile>
      </profiles>
    </configuration>"#
    )
}
