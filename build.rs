//! Build script for mod_callscreen.
//!
//! 1. Runs bindgen over our own declarations of the FreeSWITCH ABI
//!    (`include/callscreen_switch.h`).
//! 2. Links the cdylib with `-z nodelete`, so that `unload mod_callscreen`
//!    never unmaps code a FreeSWITCH thread could still return into.
//! 3. Where real FreeSWITCH headers are found (`FREESWITCH_INCLUDE_DIR`,
//!    `FREESWITCH_PREFIX`, or `pkg-config freeswitch`), checks that our
//!    declarations agree with them: enum values, struct sizes and offsets,
//!    `SWITCH_API_VERSION`, and the type of every host function we call. A
//!    mismatch fails the build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let include = manifest.join("include");
    let header = include.join("callscreen_switch.h");

    println!("cargo:rerun-if-changed=include");
    println!("cargo:rerun-if-changed=build.rs");
    for var in [
        "FREESWITCH_INCLUDE_DIR",
        "FREESWITCH_PREFIX",
        "PKG_CONFIG_PATH",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }

    generate_bindings(&header, &out);
    println!("cargo:rustc-cdylib-link-arg=-Wl,-z,nodelete");

    let summary = match find_freeswitch_headers() {
        Some(flags) => {
            check_abi(&include, &flags, &out);
            format!("checked against FreeSWITCH headers ({})", flags.join(" "))
        }
        None => "not checked: no FreeSWITCH headers at build time".to_string(),
    };
    println!("cargo:rustc-env=CALLSCREEN_ABI_CHECK={summary}");
}

fn generate_bindings(header: &Path, out: &Path) {
    let bindings = bindgen::Builder::default()
        .header(header.to_string_lossy())
        .allowlist_function("switch_.*")
        .allowlist_type("switch_.*|cs_.*")
        .allowlist_var("SWITCH_.*|CS_.*")
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .layout_tests(true)
        .generate_comments(false)
        .parse_callbacks(Box::new(bindgen::CargoCallbacks::new()))
        .generate()
        .unwrap_or_else(|err| {
            panic!(
                "bindgen failed on {}: {err}\n\
                 bindgen needs libclang; on Debian: apt-get install -y libclang-dev",
                header.display()
            )
        });
    bindings
        .write_to_file(out.join("bindings.rs"))
        .expect("write bindings.rs");
}

/// Compiler flags that make `#include <switch.h>` work, if FreeSWITCH's
/// development headers can be found.
fn find_freeswitch_headers() -> Option<Vec<String>> {
    if let Ok(dir) = env::var("FREESWITCH_INCLUDE_DIR") {
        if Path::new(&dir).join("switch.h").exists() {
            return Some(vec![format!("-I{dir}")]);
        }
        println!("cargo:warning=FREESWITCH_INCLUDE_DIR={dir} has no switch.h; ABI check skipped");
        return None;
    }
    if let Ok(prefix) = env::var("FREESWITCH_PREFIX") {
        let dir = Path::new(&prefix).join("include/freeswitch");
        if dir.join("switch.h").exists() {
            return Some(vec![format!("-I{}", dir.display())]);
        }
    }
    let output = Command::new("pkg-config")
        .args(["--cflags", "freeswitch"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let flags: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let has_header = flags
        .iter()
        .filter_map(|f| f.strip_prefix("-I"))
        .any(|dir| Path::new(dir).join("switch.h").exists());
    has_header.then_some(flags)
}

const PROBE_MAIN: &str = r#"
#include <stdio.h>
#include <stddef.h>
#define CS_ABI_VALUE(x) printf("%s = %lld\n", #x, (long long)(x));
#define CS_ABI_SIZE(t) printf("sizeof(%s) = %zu\n", #t, sizeof(t));
#define CS_ABI_OFFSET(t, f) printf("offsetof(%s, %s) = %zu\n", #t, #f, offsetof(t, f));
int main(void)
{
#include "callscreen_abi_items.h"
	return 0;
}
"#;

/// Builds and runs the probe over both header sets and compares the output;
/// also compiles our prototypes after FreeSWITCH's to catch signature drift.
fn check_abi(include: &Path, fs_flags: &[String], out: &Path) {
    let ours_src = out.join("abi_probe_ours.c");
    let host_src = out.join("abi_probe_host.c");
    let protos_src = out.join("abi_prototypes.c");
    std::fs::write(
        &ours_src,
        format!("#include \"callscreen_switch.h\"\n{PROBE_MAIN}"),
    )
    .expect("write probe");
    std::fs::write(&host_src, format!("#include <switch.h>\n{PROBE_MAIN}")).expect("write probe");
    std::fs::write(
        &protos_src,
        "#include <switch.h>\n\
         #define CS_HOST_FN(ret, name, params) ret(*const cs_check_##name) params = name;\n\
         #include \"callscreen_host_functions.h\"\n\
         int main(void) { return 0; }\n",
    )
    .expect("write prototype check");

    let compiler = cc::Build::new().cargo_metadata(false).get_compiler();
    let compile = |src: &Path, exe: &Path, extra: &[String]| {
        let mut cmd = compiler.to_command();
        if exe.extension().is_some_and(|e| e == "o") {
            cmd.arg("-c");
        }
        cmd.arg(format!("-I{}", include.display()))
            .args(extra)
            .arg("-Werror=incompatible-pointer-types")
            .arg("-o")
            .arg(exe)
            .arg(src);
        let result = cmd.output().expect("run the C compiler");
        if !result.status.success() {
            panic!(
                "FreeSWITCH ABI check: compiling {} failed:\n{}",
                src.display(),
                String::from_utf8_lossy(&result.stderr)
            );
        }
    };
    let run = |exe: &Path| -> String {
        let result = Command::new(exe).output().expect("run ABI probe");
        String::from_utf8_lossy(&result.stdout).into_owned()
    };

    let ours_exe = out.join("abi_probe_ours");
    let host_exe = out.join("abi_probe_host");
    compile(&ours_src, &ours_exe, &[]);
    compile(&host_src, &host_exe, fs_flags);
    compile(&protos_src, &out.join("abi_prototypes.o"), fs_flags);

    let ours = run(&ours_exe);
    let host = run(&host_exe);
    let mismatches: Vec<String> = ours
        .lines()
        .zip(host.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("  ours: {a}\n  host: {b}"))
        .collect();
    if !mismatches.is_empty() || ours.lines().count() != host.lines().count() {
        panic!(
            "FreeSWITCH ABI check failed: include/callscreen_switch.h disagrees with the host headers:\n{}",
            mismatches.join("\n")
        );
    }
    std::fs::write(out.join("abi_check.txt"), &host).expect("write abi_check.txt");
}
