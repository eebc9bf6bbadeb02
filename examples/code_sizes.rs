//! Code size by stencil over the compile bench's code objects (benches/stdlib_code.py):
//! `PYO3_PYTHON=python3 cargo run --release --example code_sizes [N]` prints the N stencils
//! with the most bytes in total (count x size), then the total bytes per instruction.
use cpjit::compiler::{compile, CodeInput};
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
/// One code object as dumped by stdlib_code.py, with its fake addresses.
struct Code {
    name: String,
    units: Vec<u16>,
    units_address: u64,
    consts: Vec<u64>,
    names: Vec<u64>,
    code_address: u64,
}

impl Code {
    fn input<'a>(&'a self, symbols: &'a [u64]) -> CodeInput<'a> {
        CodeInput {
            units: &self.units,
            units_address: self.units_address,
            consts: &self.consts,
            names: &self.names,
            code_address: self.code_address,
            state_address: self.code_address + 0x100,
            symbols,
        }
    }
}

/// Run the dump script and parse its output.
fn load_stdlib_code() -> Vec<Code> {
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

fn main() {
    let top: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(25);
    let codes = load_stdlib_code();
    let symbols = cpjit::runtime::symbol_addresses();
    let mut by: HashMap<&'static str, (usize, usize)> = HashMap::new();
    let (mut instrs, mut native, mut code_bytes) = (0usize, 0usize, 0usize);
    for c in &codes {
        let Ok(cc) = compile(&c.input(symbols)) else {
            continue;
        };
        instrs += cc.instructions;
        native += cc.native_bytes();
        code_bytes += cc.code_end as usize;
        for (i, &(_, name, start)) in cc.layout.iter().enumerate() {
            let end = cc.layout.get(i + 1).map(|l| l.2).unwrap_or(cc.code_end);
            let e = by.entry(name).or_default();
            e.0 += 1;
            e.1 += (end - start) as usize;
        }
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| b.1 .1.cmp(&a.1 .1));
    println!(
        "{:40} {:>8} {:>8} {:>10} {:>6}",
        "stencil", "count", "B/each", "bytes", "share"
    );
    for (name, (n, b)) in v.iter().take(top) {
        println!(
            "{:40} {:>8} {:>8.0} {:>10} {:>5.1}%",
            name,
            n,
            *b as f64 / *n as f64,
            b,
            100.0 * *b as f64 / code_bytes as f64
        );
    }
    println!("instructions {instrs}, machine code {code_bytes} B ({:.1} B/instr), with data/GOT/veneers {native} B ({:.1} B/instr)",
        code_bytes as f64 / instrs as f64, native as f64 / instrs as f64);
}
