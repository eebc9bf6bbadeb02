//! The compile bench's code objects (benches/stdlib_code.py's dump) as compiler inputs with fake
//! addresses; shared by benches/compile_speed.rs and examples/code_sizes.rs (`#[path]`).
#![allow(dead_code)]

use cpjit::compiler::CodeInput;
use std::path::Path;
use std::process::Command;

/// One code object as dumped by stdlib_code.py, with its fake addresses.
pub struct Code {
    pub name: String,
    pub units: Vec<u16>,
    pub units_address: u64,
    pub consts: Vec<u64>,
    pub names: Vec<u64>,
    pub code_address: u64,
}

impl Code {
    pub fn input<'a>(&'a self, symbols: &'a [u64]) -> CodeInput<'a> {
        CodeInput {
            units: &self.units,
            units_address: self.units_address,
            consts: &self.consts,
            names: &self.names,
            code_address: self.code_address,
            state_address: self.code_address + 0x100,
            symbols,
            numbers: None,
        }
    }
}

/// Run the dump script and parse its output.
pub fn load_stdlib_code() -> Vec<Code> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/stdlib_code.py");
    let python = std::env::var("PYO3_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python} {}: {e}", script.display()));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "{python} {} failed: {}",
        script.display(),
        out.status
    );
    parse(&out.stdout)
}

fn parse(data: &[u8]) -> Vec<Code> {
    let mut at = 0usize;
    let mut take = |n: usize| -> &[u8] {
        let s = data
            .get(at..at + n)
            .expect("stdlib_code.py output is truncated");
        at += n;
        s
    };
    assert_eq!(
        take(4),
        b"CPJB",
        "stdlib_code.py output has the wrong magic"
    );
    let u32_at = |b: &[u8]| u32::from_le_bytes(b.try_into().unwrap());
    assert_eq!(u32_at(take(4)), 1, "stdlib_code.py output format version");
    let count = u32_at(take(4)) as usize;
    // Fake addresses: bytecode in one region, object pointers in another, 16-byte aligned and
    // distinct, so every patched value looks like a real heap pointer.
    let mut next_object = 0x7f00_1000_0000u64;
    let mut object = || {
        next_object += 0x30;
        next_object
    };
    let mut next_units = 0x7f40_0000_0000u64;
    (0..count)
        .map(|_| {
            let n_units = u32_at(take(4)) as usize;
            let n_consts = u32_at(take(4)) as usize;
            let n_names = u32_at(take(4)) as usize;
            let name_len = u16::from_le_bytes(take(2).try_into().unwrap()) as usize;
            let name = String::from_utf8_lossy(take(name_len)).into_owned();
            let units: Vec<u16> = take(2 * n_units)
                .chunks_exact(2)
                .map(|w| u16::from_le_bytes([w[0], w[1]]))
                .collect();
            let units_address = next_units;
            next_units += (2 * n_units as u64 + 0x100) & !0xf;
            Code {
                name,
                units,
                units_address,
                consts: (0..n_consts).map(|_| object()).collect(),
                names: (0..n_names).map(|_| object()).collect(),
                code_address: object(),
            }
        })
        .collect()
}
