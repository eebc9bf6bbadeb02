//! Golden stencils: a readable summary of every stencil (size, data, holes, a hash of its bytes)
//! kept under version control in tests/golden/stencils.txt, so that a change in generated code
//! shows up in review. Re-bless after an intended change with:
//!
//!     CPJIT_BLESS=1 cargo test --test golden_stencils
//!
//! The bytes depend on the clang and CPython headers the build used (Debian's clang-19 and
//! CPython 3.11.7 here); `objdump -d target/*/build/cpjit-*/out/stencil_*.o` shows the code.

use cpjit::stencils::{self, Target, STENCILS};
use std::fmt::Write as _;
use std::path::PathBuf;

/// FNV-1a, enough to notice any change in a stencil's bytes.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ *b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

fn render() -> String {
    let mut out = String::from(
        "# name: hot code bytes + cold code bytes, data bytes, fnv1a(code)\n\
         #   offset (into hot part then cold part) kind target addend\n",
    );
    for s in &STENCILS {
        writeln!(
            out,
            "{}: {} hot + {} cold code, {} data, {:016x}",
            s.name(),
            s.hot_len,
            s.code().len() - s.hot_len as usize,
            s.data().len(),
            fnv1a(s.code())
        )
        .unwrap();
        for h in s.holes() {
            let target = match h.target {
                Target::Hole(v) => v.symbol().to_string(),
                Target::Symbol(i) => stencils::symbol_name(i as usize).to_string(),
                Target::Data(off) => format!("data+{off}"),
            };
            writeln!(out, "  {:5} {:?} {} {}", h.offset, h.kind, target, h.addend).unwrap();
        }
    }
    out
}

#[test]
fn stencils_match_the_golden_summary() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/stencils.txt");
    let now = render();
    if std::env::var_os("CPJIT_BLESS").is_some() {
        std::fs::write(&path, &now).expect("write golden file");
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_default();
    if golden != now {
        let first = golden
            .lines()
            .zip(now.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| golden.lines().count().min(now.lines().count()));
        panic!(
            "stencils differ from tests/golden/stencils.txt (first difference at line {}):\n  golden: {:?}\n  now:    {:?}\n\
             If the change is intended: CPJIT_BLESS=1 cargo test --test golden_stencils",
            first + 1,
            golden.lines().nth(first),
            now.lines().nth(first)
        );
    }
}
