//! Code size by stencil over the compile bench's code objects (benches/stdlib_code.py):
//! `PYO3_PYTHON=python3 cargo run --release --example code_sizes [N]` prints the N stencils
//! with the most bytes in total (count x size, hot and cold parts), then the total bytes per
//! instruction, and the hot bytes per instruction (the hot parts, which run on the common path,
//! without the cold parts placed after them: src/split.rs).
use cpjit::compiler::compile;
use std::collections::HashMap;

#[path = "../benches/common/stdlib_code.rs"]
mod stdlib_code;
use stdlib_code::load_stdlib_code;

fn main() {
    let top: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(25);
    let codes = load_stdlib_code();
    let symbols = cpjit::runtime::symbol_addresses();
    // Per stencil: (count, hot bytes, cold bytes).
    let mut by: HashMap<&'static str, (usize, usize, usize)> = HashMap::new();
    let (mut instrs, mut native, mut code_bytes, mut hot_bytes) = (0usize, 0usize, 0usize, 0usize);
    for c in &codes {
        let Ok(cc) = compile(&c.input(symbols)) else {
            continue;
        };
        instrs += cc.instructions;
        native += cc.native_bytes();
        code_bytes += cc.code_end as usize;
        hot_bytes += cc.hot_end as usize;
        let layout = cc.layout();
        for (i, &(_, name, start)) in layout.iter().enumerate() {
            let end = layout.get(i + 1).map(|l| l.2).unwrap_or(cc.hot_end);
            let e = by.entry(name).or_default();
            e.0 += 1;
            e.1 += (end - start) as usize;
        }
        let cold_layout = cc.cold_layout();
        for (i, &(_, name, start)) in cold_layout.iter().enumerate() {
            let end = cold_layout.get(i + 1).map(|l| l.2).unwrap_or(cc.code_end);
            by.entry(name).or_default().2 += (end - start) as usize;
        }
    }
    let mut v: Vec<_> = by.into_iter().collect();
    v.sort_by(|a, b| (b.1 .1 + b.1 .2).cmp(&(a.1 .1 + a.1 .2)));
    println!(
        "{:40} {:>8} {:>6} {:>6} {:>10} {:>10} {:>6}",
        "stencil", "count", "hot/1", "cold/1", "hot", "cold", "share"
    );
    for (name, (n, h, c)) in v.iter().take(top) {
        println!(
            "{:40} {:>8} {:>6.0} {:>6.0} {:>10} {:>10} {:>5.1}%",
            name,
            n,
            *h as f64 / *n as f64,
            *c as f64 / *n as f64,
            h,
            c,
            100.0 * (*h + *c) as f64 / code_bytes as f64
        );
    }
    println!("instructions {instrs}, machine code {code_bytes} B ({:.1} B/instr), with data/GOT/veneers {native} B ({:.1} B/instr)",
        code_bytes as f64 / instrs as f64, native as f64 / instrs as f64);
    println!(
        "hot parts {hot_bytes} B ({:.1} B/instr), cold parts {} B ({:.1} B/instr)",
        hot_bytes as f64 / instrs as f64,
        code_bytes - hot_bytes,
        (code_bytes - hot_bytes) as f64 / instrs as f64
    );
}
