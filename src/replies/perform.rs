//! Runs a reply's steps against a call. The host is a trait so that the
//! sequencing (stop when the caller hangs up, read back a challenge's digits
//! and branch) is the same, tested code for the real channel and the fakes.

use super::steps::{judge, ChallengeStep, HostStep, VAR_DIGITS, VAR_DIGITS_INVALID};

/// What the steps need from the call.
pub trait CallHost {
    /// Whether the call is still up.
    fn ready(&self) -> bool;
    /// Runs a FreeSWITCH application; whether the host accepted it.
    fn execute(&self, app: &str, arg: &str) -> bool;
    /// Sets (or, with an empty value, unsets) a channel variable.
    fn set_variable(&self, name: &str, value: &str);
    /// Reads a channel variable.
    fn variable(&self, name: &str) -> Option<String>;
    /// Hangs up with a cause name.
    fn hangup(&self, cause: &str);
}

/// How a challenge went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeResult {
    /// Whether the caller pressed the expected digits.
    pub passed: bool,
    /// What was collected (None: nothing valid).
    pub pressed: Option<String>,
    /// What was pressed that did not match (FreeSWITCH's `<var>_invalid`).
    pub invalid: Option<String>,
}

/// What performing the steps came to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Performed {
    /// The caller hung up before the steps were done.
    pub caller_left: bool,
    /// The challenge, if one was run to its end.
    pub challenge: Option<ChallengeResult>,
    /// Applications the host refused (name), e.g. one not loaded.
    pub failed_apps: Vec<&'static str>,
}

/// Runs `steps` in order. `on_pass` is told of a passed challenge (to
/// remember the caller).
pub fn perform(
    host: &dyn CallHost,
    steps: &[HostStep],
    on_pass: &mut dyn FnMut(&ChallengeStep),
) -> Performed {
    let mut done = Performed::default();
    run(host, steps, on_pass, &mut done);
    done
}

fn run(
    host: &dyn CallHost,
    steps: &[HostStep],
    on_pass: &mut dyn FnMut(&ChallengeStep),
    done: &mut Performed,
) {
    for step in steps {
        match step {
            HostStep::Set { name, value } => host.set_variable(name, value),
            HostStep::Execute { app, arg } => {
                if !host.ready() {
                    done.caller_left = true;
                    return;
                }
                if !host.execute(app, arg) {
                    done.failed_apps.push(app);
                }
            }
            HostStep::Hangup { cause } => {
                if host.ready() {
                    host.hangup(cause);
                }
            }
            HostStep::Challenge(c) => {
                if !host.ready() {
                    done.caller_left = true;
                    return;
                }
                if !host.execute(ChallengeStep::APP, &c.arg) {
                    done.failed_apps.push(ChallengeStep::APP);
                }
                if !host.ready() {
                    done.caller_left = true;
                    return;
                }
                let pressed = host.variable(VAR_DIGITS).filter(|d| !d.is_empty());
                let passed = judge(pressed.as_deref(), &c.expected);
                let invalid = host.variable(VAR_DIGITS_INVALID).filter(|d| !d.is_empty());
                done.challenge = Some(ChallengeResult {
                    passed,
                    pressed,
                    invalid,
                });
                if passed {
                    on_pass(c);
                    run(host, &c.on_pass, on_pass, done);
                } else {
                    run(host, &c.on_fail, on_pass, done);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// Records what was asked; the caller "presses" `digits` and may hang up
    /// when a given application runs.
    #[derive(Default)]
    struct Fake {
        log: RefCell<Vec<String>>,
        digits: Option<String>,
        hangs_up_at: Option<&'static str>,
        up: RefCell<bool>,
        vars: RefCell<Vec<(String, String)>>,
    }

    impl CallHost for Fake {
        fn ready(&self) -> bool {
            *self.up.borrow()
        }
        fn execute(&self, app: &str, arg: &str) -> bool {
            self.log.borrow_mut().push(format!("EXEC {app} {arg}"));
            if app == ChallengeStep::APP {
                if let Some(d) = &self.digits {
                    self.vars.borrow_mut().push((VAR_DIGITS.into(), d.clone()));
                }
            }
            if self.hangs_up_at == Some(app) {
                *self.up.borrow_mut() = false;
            }
            true
        }
        fn set_variable(&self, name: &str, value: &str) {
            self.log.borrow_mut().push(format!("SET {name}={value}"));
        }
        fn variable(&self, name: &str) -> Option<String> {
            self.vars
                .borrow()
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        }
        fn hangup(&self, cause: &str) {
            self.log.borrow_mut().push(format!("HANGUP {cause}"));
            *self.up.borrow_mut() = false;
        }
    }

    fn fake(digits: Option<&str>, hangs_up_at: Option<&'static str>) -> Fake {
        Fake {
            digits: digits.map(String::from),
            hangs_up_at,
            up: RefCell::new(true),
            ..Fake::default()
        }
    }

    fn challenge() -> Vec<HostStep> {
        vec![HostStep::Challenge(Box::new(ChallengeStep {
            arg: "ARG".into(),
            expected: "1".into(),
            remember: None,
            on_pass: vec![HostStep::Set {
                name: "r",
                value: "pass".into(),
            }],
            on_fail: vec![HostStep::Hangup {
                cause: "CALL_REJECTED",
            }],
        }))]
    }

    #[test]
    fn a_challenge_branches_on_the_digits_read_back() {
        let host = fake(Some("1"), None);
        let mut passes = 0;
        let done = perform(&host, &challenge(), &mut |_| passes += 1);
        assert_eq!(
            done.challenge,
            Some(ChallengeResult {
                passed: true,
                pressed: Some("1".into()),
                invalid: None
            })
        );
        assert_eq!(passes, 1);
        assert_eq!(
            *host.log.borrow(),
            ["EXEC play_and_get_digits ARG", "SET r=pass"]
        );

        let host = fake(None, None);
        let done = perform(&host, &challenge(), &mut |_| panic!("no pass"));
        assert!(!done.challenge.unwrap().passed);
        assert_eq!(
            *host.log.borrow(),
            ["EXEC play_and_get_digits ARG", "HANGUP CALL_REJECTED"]
        );
    }

    #[test]
    fn steps_stop_when_the_caller_hangs_up() {
        let host = fake(None, Some("playback"));
        let steps = vec![
            HostStep::Execute {
                app: "pre_answer",
                arg: String::new(),
            },
            HostStep::Execute {
                app: "playback",
                arg: "a".into(),
            },
            HostStep::Execute {
                app: "playback",
                arg: "b".into(),
            },
            HostStep::Hangup { cause: "USER_BUSY" },
        ];
        let done = perform(&host, &steps, &mut |_| {});
        assert!(done.caller_left);
        assert_eq!(*host.log.borrow(), ["EXEC pre_answer ", "EXEC playback a"]);
    }
}
