//! Compile speed: time per bytecode instruction, over every code object of ~60 big
//! standard-library modules.
//!
//!     cargo bench --bench compile_speed
//!
//! At start the bench runs `python3 benches/stdlib_code.py` (or `$PYO3_PYTHON`), which compiles
//! the modules' sources with compile() and dumps each code object's co_code and the sizes of its
//! co_consts / co_names (format in that script). Each becomes a `CodeInput` with fake but
//! plausible addresses for bytecode, constants, names and the code object (the compiler only
//! writes them into the machine code, never dereferences them) and the real symbol table.
//!
//! It prints its own summary (instructions, median time per pass, ns per instruction in wall
//! time and in thread CPU time (the figure to compare on a shared machine), code
//! objects per second, failures grouped by reason, instructions left to the interpreter) and
//! runs the criterion group `compile_stdlib` with throughput in instructions. Timed: the
//! compile itself, by the same `compiler::compile` the runtime calls (analysis, layout, copy,
//! patch, placing the region, mapping chunks and sealing, with the page faults of fresh memory);
//! not timed: freeing the results, which happens in chunks outside the clock (their
//! chunks are unmapped, so every pass writes into fresh pages as a process's first compiles do).
//! The CPU figure is split into user and system time (getrusage): system time is the kernel's
//! part (fresh pages, sealing's mprotect).
//!
//! It also prints a hash of the machine code of every code object compiled at made-up addresses
//! (`compiler::compile_detached`): equal hashes mean byte-identical code. With
//! `COMPILE_SPEED_HASH_ONLY=1` it stops after the survey and the hash.
//!
//! `CPJIT_HUGE_PAGES=0` keeps every chunk on 4 KiB pages (src/memory.rs), for comparing.
//!
//! `COMPILE_SPEED_PROFILE=N` runs only N passes as timed (same chunks, fresh pages) and prints
//! the instructions compiled: the noise-free figure is the instruction count of
//! `cpjit::compiler::compile` under callgrind divided by that (benches/README.md).

use cpjit::compiler::{compile, compile_detached, CompileError, Detached};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[path = "common/stdlib_code.rs"]
mod stdlib_code;
use stdlib_code::{load_stdlib_code, Code};

fn error_kind(e: &CompileError) -> String {
    match e {
        CompileError::Analysis(a) => format!("analysis: {a:?}")
            .split(['{', '('])
            .next()
            .unwrap()
            .trim()
            .to_string(),
        other => other.to_string(),
    }
}

/// Compile every code object once: instruction count, failures by reason (with an example),
/// instructions without a stencil by opcode.
fn survey(codes: &[Code], symbols: &[u64]) -> usize {
    let mut instructions = 0usize;
    let mut native_bytes = 0usize;
    let mut failures: BTreeMap<String, (usize, String)> = BTreeMap::new();
    let mut unsupported: BTreeMap<&'static str, usize> = BTreeMap::new();
    for c in codes {
        match compile(&c.input(symbols)) {
            Ok(compiled) => {
                instructions += compiled.instructions;
                native_bytes += compiled.native_bytes();
                for n in compiled.unsupported {
                    *unsupported.entry(n).or_default() += 1;
                }
            }
            Err(e) => {
                let entry = failures
                    .entry(error_kind(&e))
                    .or_insert((0, format!("{}: {e}", c.name)));
                entry.0 += 1;
            }
        }
    }
    let failed: usize = failures.values().map(|(n, _)| n).sum();
    println!(
        "compile_stdlib: {} code objects, {instructions} instructions, {} code units",
        codes.len(),
        codes.iter().map(|c| c.units.len()).sum::<usize>()
    );
    println!(
        "compile_stdlib: {native_bytes} bytes of machine code ({:.1} bytes/instruction)",
        native_bytes as f64 / instructions.max(1) as f64
    );
    println!("compile_stdlib: {failed} code objects failed to compile");
    for (kind, (n, example)) in &failures {
        println!("  {n:6}  {kind}   e.g. {example}");
    }
    let total_unsupported: usize = unsupported.values().sum();
    let mut by_count: Vec<_> = unsupported.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    println!(
        "compile_stdlib: {total_unsupported} instructions without a stencil ({:.1}%){}",
        100.0 * total_unsupported as f64 / instructions.max(1) as f64,
        if by_count.is_empty() {
            String::new()
        } else {
            ", most common:".into()
        }
    );
    for (name, n) in by_count.iter().take(12) {
        println!("  {n:6}  {name}");
    }
    instructions
}

/// CPU time this thread has used (user and system): unlike wall time, not inflated when other
/// processes share the machine's cores.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// System (kernel) CPU time this thread has used: the part of the CPU time spent in page
/// faults, mmap and the code write.
fn thread_system_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes one rusage through a valid pointer.
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    Duration::new(ru.ru_stime.tv_sec as u64, ru.ru_stime.tv_usec as u32 * 1000)
}

/// Compile every code object once; only compiling is timed (results are freed in chunks
/// outside the clock, so at most CHUNK mappings are alive at once). Returns wall time, thread
/// CPU time and the system part of it (getrusage: coarser, only summed over the pass).
fn timed_pass_cpu(codes: &[Code], symbols: &[u64]) -> (Duration, Duration, Duration) {
    const CHUNK: usize = 256;
    let mut total = Duration::ZERO;
    let mut cpu = Duration::ZERO;
    let mut sys = Duration::ZERO;
    let mut alive = Vec::with_capacity(CHUNK);
    for chunk in codes.chunks(CHUNK) {
        let start = Instant::now();
        let start_cpu = thread_cpu_time();
        let start_sys = thread_system_time();
        for c in chunk {
            alive.push(compile(&c.input(symbols)));
        }
        sys += thread_system_time() - start_sys;
        cpu += thread_cpu_time() - start_cpu;
        total += start.elapsed();
        alive.clear();
        // Every chunk is fresh memory, as in a process's first compiles: the empty huge chunk
        // the allocator keeps for reuse goes back too.
        cpjit::memory::release_spare_chunk();
    }
    (total, cpu, sys)
}

/// `passes` passes as [`timed_pass_cpu`] makes them (chunks of CHUNK live results), untimed:
/// the instructions compiled, for dividing a profiler's count of `compiler::compile` by.
fn profile_passes(codes: &[Code], symbols: &[u64], passes: usize) -> usize {
    const CHUNK: usize = 256;
    let mut instructions = 0;
    let mut alive = Vec::with_capacity(CHUNK);
    for _ in 0..passes {
        for chunk in codes.chunks(CHUNK) {
            for c in chunk {
                alive.push(compile(&c.input(symbols)));
            }
            instructions += alive
                .iter()
                .map(|r| r.as_ref().map_or(0, |c| c.instructions))
                .sum::<usize>();
            alive.clear();
            cpjit::memory::release_spare_chunk();
        }
    }
    instructions
}

fn timed_pass(codes: &[Code], symbols: &[u64]) -> Duration {
    timed_pass_cpu(codes, symbols).0
}

/// FNV-1a over the machine code of every code object, compiled detached at made-up addresses
/// (fixed symbol table, bases near it, with and without the chunk's symbol table): the same for
/// two builds exactly when they generate the same bytes, wherever memory lands. Printed so that
/// a change meant to speed up compiling can show it changed no byte. `spacing` separates the
/// code objects' bases: 1 MiB puts most of them out of reach of the symbol table (their compile
/// fails, and the hash takes the error message); 256 bytes keeps every one within reach (nothing
/// is mapped, so bases may overlap).
fn code_hash(codes: &[Code], spacing: u64) -> u64 {
    let n = cpjit::stencils::symbol_count() as u64;
    let symbols: Vec<u64> = (0..n).map(|i| 0x7f00_0000_0000 + 0x40 * i).collect();
    // COMPILE_SPEED_HASH_EACH=1: one line per code object (index, name, size, hash), to find
    // which code objects two builds compile differently.
    let each = std::env::var_os("COMPILE_SPEED_HASH_EACH").is_some() && spacing < 0x10_0000;
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
    };
    for (k, c) in codes.iter().enumerate() {
        let at = Detached {
            base: 0x7f00_4000_0000 + spacing * k as u64,
            symbols: if k % 7 == 3 { 0 } else { 0x7f00_3fff_0000 },
            caches: 0x5555_0000_0000 + 0x1_0000 * k as u64,
        };
        match compile_detached(&c.input(&symbols), at) {
            Ok(bytes) => {
                if each {
                    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
                        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
                    });
                    println!("code {k} {} {} {h:016x}", c.name, bytes.len());
                }
                eat(&(bytes.len() as u64).to_le_bytes());
                eat(&bytes);
            }
            Err(e) => {
                if each {
                    println!("code {k} {} error {e}", c.name);
                }
                eat(e.to_string().as_bytes())
            }
        }
    }
    h
}

fn bench(cr: &mut Criterion) {
    // CPJIT_HUGE_PAGES=0: chunks on 4 KiB pages only, as the runtime does with that setting.
    if std::env::var("CPJIT_HUGE_PAGES").is_ok_and(|v| v.trim() == "0") {
        cpjit::memory::set_huge_pages(false);
    }
    let codes = load_stdlib_code();
    let symbols = cpjit::runtime::symbol_addresses();
    if let Some(n) = std::env::var("COMPILE_SPEED_PROFILE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        let instructions = profile_passes(&codes, symbols, n);
        println!("compile_stdlib: profile: {n} passes, {instructions} instructions compiled");
        return;
    }
    let instructions = survey(&codes, symbols);
    println!(
        "compile_stdlib: machine code hash {:016x}",
        code_hash(&codes, 0x10_0000)
    );
    println!(
        "compile_stdlib: machine code hash, every code object within reach {:016x}",
        code_hash(&codes, 0x100)
    );
    if std::env::var_os("COMPILE_SPEED_HASH_ONLY").is_some() {
        return;
    }

    // Our own figure, printed explicitly: median of 11 passes after 2 warm-up passes.
    for _ in 0..2 {
        timed_pass(&codes, symbols);
    }
    let mut passes = Vec::new();
    let mut cpu = Vec::new();
    let mut sys = Vec::new();
    for _ in 0..11 {
        let (p, c, s) = timed_pass_cpu(&codes, symbols);
        passes.push(p);
        cpu.push(c);
        sys.push(s);
    }
    passes.sort();
    cpu.sort();
    sys.sort();
    let cpu_median = cpu[cpu.len() / 2];
    let sys_median = sys[sys.len() / 2];
    println!(
        "compile_stdlib: median pass CPU time {:.2} ms: {:.1} ns/instruction (thread CPU time, \
         robust to other load on the machine; of which system {:.1} ns/instruction)",
        cpu_median.as_secs_f64() * 1e3,
        cpu_median.as_nanos() as f64 / instructions as f64,
        sys_median.as_nanos() as f64 / instructions as f64,
    );
    let median = passes[passes.len() / 2];
    println!(
        "compile_stdlib: median pass {:.2} ms (min {:.2}, max {:.2}): {:.1} ns/instruction, \
         {:.0} code objects/s, {:.2} M instructions/s",
        median.as_secs_f64() * 1e3,
        passes[0].as_secs_f64() * 1e3,
        passes[passes.len() - 1].as_secs_f64() * 1e3,
        median.as_nanos() as f64 / instructions as f64,
        codes.len() as f64 / median.as_secs_f64(),
        instructions as f64 / median.as_secs_f64() / 1e6,
    );

    let mut group = cr.benchmark_group("compile_stdlib");
    group.throughput(Throughput::Elements(instructions as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("all_code_objects", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| timed_pass(&codes, symbols)).sum())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
