//! build.rs: turns stencils/*.c into stencil tables, and builds the C runtime.
//!
//! 1. Asks the target Python (PYO3_PYTHON, else `python3`) for its version, include directory and
//!    opcode tables; anything but CPython 3.11 stops the build.
//! 2. Finds clang >= 19 (CPJIT_CLANG, else `clang-19`, else `clang`).
//! 3. Compiles every stencils/*.c to a relocatable object (one section per basic block,
//!    `-fbasic-block-sections=all`, with clang's frequency estimates in `.llvm_bb_addr_map`) and
//!    reads, with goblin, the blocks of each stencil `cpjit_op_<NAME>`: their bytes, the read-only
//!    data they reference, and their relocations. src/split.rs lays each stencil out as a hot part
//!    and a cold part (branches between them become `_JIT_HOT`/`_JIT_COLD` holes). An unknown
//!    relocation kind, writable data, a reference to another function, or a relocation against
//!    a block that is not a branch stops the build with the stencil's name. OUT_DIR/split.txt
//!    lists every block with its estimates and part.
//! 4. Writes OUT_DIR/stencils.rs (the tables: offsets and indices into shared static arrays, no
//!    pointers, so that loading the extension relocates none of them; src/stencils.rs),
//!    OUT_DIR/opcodes.rs, and OUT_DIR/symbols.c (the address of every external symbol stencils
//!    use, resolved by the dynamic linker at import).
//! 5. Compiles csrc/*.c and symbols.c with the same clang into the static runtime library.
//!
//! Everything generated goes to OUT_DIR.

#[path = "src/holes.rs"]
#[allow(dead_code)]
mod holes;
#[path = "src/patch.rs"]
#[allow(dead_code)]
mod patch;
#[path = "src/split.rs"]
mod split;

use goblin::elf::{section_header, sym, Elf};
use holes::HoleValue;
use patch::{GotForm, PatchKind};
use std::collections::BTreeMap;
use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fail(msg: impl AsRef<str>) -> ! {
    eprintln!("\ncpjit build error: {}\n", msg.as_ref());
    std::process::exit(1);
}

/// The helper whose cache argument is a CpjitCallCache (csrc/calls.h), two `_JIT_CACHE` slots
/// (128 bytes): the second keeps the callees its entry named before. A stencil that calls it
/// (CALL's) gets two slots.
const WIDE_CACHE_HELPER: &str = "cpjit_call";

struct PythonInfo {
    include: String,
    libdir: String,
    opname: Vec<String>,
    deopt: Vec<u8>,
    caches: Vec<u8>,
    /// CALIBRATION_SOURCE compiled by the target Python and marshalled, as hex.
    calibration_code: String,
}

/// The snippet csrc/runtime.c runs once at `enable()` to learn how deep the interpreter's calls
/// enter the frame evaluator (calibrate_direct_depths). Compiled here by the target Python and
/// embedded marshalled (OUT_DIR/calibration.h), so that start-up does not parse and compile it
/// (a quarter of a million instructions); the source goes along for the fallback.
const CALIBRATION_SOURCE: &str =
    "def callee(a):\n    return a\ndef caller(f, g):\n    f(1)\n    g(1)\n";

const PY_PROBE: &str = r#"
import sys, sysconfig
print(f"{sys.implementation.name} {sys.version_info[0]} {sys.version_info[1]}")
if sys.implementation.name != "cpython" or sys.version_info[:2] != (3, 11):
    raise SystemExit(0)
import dis, opcode
print(sysconfig.get_paths()["include"])
print(sysconfig.get_config_var("LIBDIR") or "")
print(" ".join(dis._all_opname))
print(" ".join(str(dis._all_opmap[dis.deoptmap.get(n, n)]) if not n.startswith("<") else "0"
               for n in dis._all_opname))
print(" ".join(str(c) for c in opcode._inline_cache_entries))
import marshal
print(marshal.dumps(compile(sys.argv[1], "<cpjit calibration>", "exec")).hex())
"#;

fn python_info() -> PythonInfo {
    let python = env::var("PYO3_PYTHON")
        .or_else(|_| env::var("PYTHON_SYS_EXECUTABLE"))
        .unwrap_or_else(|_| "python3".to_string());
    let out = Command::new(&python)
        .args(["-c", PY_PROBE, CALIBRATION_SOURCE])
        .output()
        .unwrap_or_else(|e| {
            fail(format!(
                "cannot run the target Python `{python}`: {e} (set PYO3_PYTHON)"
            ))
        });
    if !out.status.success() {
        fail(format!(
            "`{python}` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let version = lines.next().unwrap_or("");
    if version != "cpython 3 11" {
        fail(format!(
            "cpjit supports CPython 3.11 only; `{python}` is {version:?}. \
             Point PYO3_PYTHON at a CPython 3.11 interpreter."
        ));
    }
    let include = lines.next().unwrap_or_default().to_string();
    let libdir = lines.next().unwrap_or_default().to_string();
    let opname: Vec<String> = lines
        .next()
        .unwrap_or_default()
        .split(' ')
        .map(String::from)
        .collect();
    let nums = |l: Option<&str>| -> Vec<u8> {
        l.unwrap_or_default()
            .split(' ')
            .map(|s| s.parse().expect("opcode table number"))
            .collect()
    };
    let deopt = nums(lines.next());
    let caches = nums(lines.next());
    let calibration_code = lines.next().unwrap_or_default().to_string();
    if opname.len() != 256 || deopt.len() != 256 || caches.len() != 256 {
        fail("unexpected opcode tables from the target Python");
    }
    if !Path::new(&include).join("internal/pycore_frame.h").exists() {
        fail(format!(
            "CPython's internal headers are missing under {include}/internal"
        ));
    }
    PythonInfo {
        include,
        libdir,
        opname,
        deopt,
        caches,
        calibration_code,
    }
}

/// OUT_DIR/calibration.h: the calibration snippet's source and its marshalled code object.
fn write_calibration_header(py: &PythonInfo, out_dir: &Path) {
    let mut h =
        String::from("/* Generated by build.rs: the calibration snippet (csrc/runtime.c). */\n");
    let _ = writeln!(
        h,
        "static const char calibration_snippet_source[] = {:?};",
        CALIBRATION_SOURCE
    );
    h.push_str("static const unsigned char calibration_snippet_code[] = {");
    let hex = py.calibration_code.as_bytes();
    for (i, pair) in hex.chunks(2).enumerate() {
        if i % 16 == 0 {
            h.push_str("\n   ");
        }
        let byte = std::str::from_utf8(pair).unwrap_or("00");
        let _ = write!(h, " 0x{byte},");
    }
    h.push_str("\n    0x00,\n};\n");
    let _ = writeln!(
        h,
        "static const size_t calibration_snippet_size = {};",
        hex.len() / 2
    );
    fs::write(out_dir.join("calibration.h"), h).unwrap();
}

fn clang_major(path: &str) -> Option<u32> {
    let out = Command::new(path).arg("--version").output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let idx = text.find("clang version ")?;
    text[idx + 14..].split('.').next()?.trim().parse().ok()
}

/// Link the unwinder Rust's panics need from libgcc_eh.a instead of libgcc_s.so: loading
/// libgcc_s with the extension took 0.15 ms of every `import cpjit` (about a fifth of it), for
/// code that runs only when a panic unwinds. The archive goes in beside the C runtime, ahead of
/// std's `-lgcc_s`, which `--as-needed` then drops. Where the compiler knows no such archive
/// (a toolchain without libgcc), std's default stays.
fn link_unwinder_statically(clang: &str) {
    let Ok(out) = Command::new(clang)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !out.status.success() || !path.is_absolute() || !path.is_file() {
        return;
    }
    if let Some(dir) = path.parent() {
        println!("cargo:rustc-link-search=native={}", dir.display());
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}

fn find_clang() -> String {
    if let Ok(c) = env::var("CPJIT_CLANG") {
        match clang_major(&c) {
            Some(v) if v >= 19 => return c,
            Some(v) => fail(format!(
                "CPJIT_CLANG={c} is clang {v}; cpjit needs clang >= 19"
            )),
            None => fail(format!("CPJIT_CLANG={c} does not run as clang")),
        }
    }
    for c in ["clang-19", "clang-20", "clang-21", "clang"] {
        if let Some(v) = clang_major(c) {
            if v >= 19 {
                return c.to_string();
            }
        }
    }
    fail(
        "clang >= 19 not found (tried CPJIT_CLANG, clang-19, clang-20, clang-21, clang). \
         Install it (Debian: apt-get install clang-19) or set CPJIT_CLANG.",
    )
}

/// Flags for stencils; each one is there for a reason.
/// Names laid end to end in one string, and where each starts (then where the last ends): a
/// table of names without pointers, so nothing for the dynamic linker to relocate when the
/// extension loads (read by src/stencils.rs symbol_name and src/opcodes.rs name, which rely on
/// the ASCII check here). `what` names the kind in the build error.
fn packed_names(what: &str, names: &[String]) -> (String, Vec<u32>) {
    let mut packed = String::new();
    let mut starts = vec![0u32];
    for n in names {
        if !n.is_ascii() {
            fail(format!("{what} name {n:?} is not ASCII"));
        }
        packed.push_str(n);
        starts.push(u32::try_from(packed.len()).unwrap());
    }
    (packed, starts)
}

fn stencil_flags(include: &str) -> Vec<String> {
    let mut v: Vec<String> = [
        "-c",
        "-O2", // small stencils that lay out well end to end
        "-std=c11",
        "-mcmodel=small", // code and its data within 2 GiB: jumps and data are rel32
        "-fPIC",          // CPython's code and data through the GOT each code object has
        //                   (holes are explicit 64-bit immediates, see stencil.h)
        "-fno-plt", // calls to CPython go through a GOT slot we build
        "-fno-asynchronous-unwind-tables", // no .eh_frame to carry around
        "-fno-unwind-tables",
        "-fno-stack-protector", // no __stack_chk_fail nobody resolves
        "-fno-builtin",         // no calls to memcpy/memset nobody resolves
        "-fno-jump-tables",     // no code addresses in data
        "-fno-vectorize",       // argument loops are short: vector prologues only
        "-fno-slp-vectorize",   //   make stencils bigger
        "-fno-unroll-loops",    // the same for unrolling
        "-ffunction-sections",  // one section per stencil
        // One section per basic block, and clang's frequency estimate for each: build.rs lays
        // each stencil out as a hot part and a cold part (src/split.rs).
        "-fbasic-block-sections=all",
        "-fbasic-block-address-map",
        "-mllvm",
        "-pgo-analysis-map=bb-freq,br-prob",
        "-fno-strict-aliasing", // CPython's own choice
        "-fomit-frame-pointer",
        "-Wall",
        "-Wno-unused-function",
        "-Werror=implicit-function-declaration",
        "-DNDEBUG",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    v.push(format!("-I{include}"));
    v.push(format!("-I{include}/internal"));
    v.push("-Istencils".into());
    v.push("-Icsrc".into());
    v
}

#[derive(Debug, Clone)]
enum Target {
    Hole(HoleValue),
    Symbol(String),
    Data(u64),
}

#[derive(Debug, Clone)]
struct Reloc {
    offset: u64,
    kind: PatchKind,
    target: Target,
    addend: i64,
}

struct Stencil {
    name: String,
    /// The hot part, then the cold part (src/split.rs).
    code: Vec<u8>,
    hot_len: usize,
    data: Vec<u8>,
    /// Offsets into `code`.
    relocs: Vec<Reloc>,
}

fn uleb(buf: &[u8], pos: &mut usize, what: &str) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let Some(&b) = buf.get(*pos) else {
            fail(format!("{what}: truncated ULEB128"));
        };
        *pos += 1;
        if shift < 64 {
            v |= ((b & 0x7f) as u64) << shift;
        }
        if b & 0x80 == 0 {
            return v;
        }
        shift += 7;
    }
}

/// clang's static estimates for the first block of each basic-block section, from a
/// `.llvm_bb_addr_map` section (LLVM's BBAddrMap, version 2, with `-mllvm
/// -pgo-analysis-map=bb-freq,br-prob`): its frequency, and its successors (by section) with the
/// probability of each edge (numerator over 2^31). Each range's base address is a relocation
/// against the section it describes. Anything but the expected shape fails the build.
fn bb_estimates(
    elf: &Elf,
    map: &[u8],
    relocs: &[goblin::elf::Reloc],
    section_size: impl Fn(usize) -> u64,
    what: &str,
) -> BTreeMap<usize, (u64, Vec<(usize, u32)>)> {
    const FUNC_ENTRY_COUNT: u8 = 1;
    const BB_FREQ: u8 = 2;
    const BR_PROB: u8 = 4;
    const MULTI_BB_RANGE: u8 = 8;
    let mut freq = BTreeMap::new();
    let mut pos = 0usize;
    while pos < map.len() {
        let version = map[pos];
        let features = *map.get(pos + 1).unwrap_or(&0);
        pos += 2;
        if version != 2 {
            fail(format!(
                "{what}: .llvm_bb_addr_map version {version}, cpjit reads version 2"
            ));
        }
        if features & !(FUNC_ENTRY_COUNT | BB_FREQ | BR_PROB | MULTI_BB_RANGE) != 0
            || features & BB_FREQ == 0
            || features & BR_PROB == 0
        {
            fail(format!(
                "{what}: .llvm_bb_addr_map features {features:#x}: cpjit needs block frequencies \
                 and knows no feature but entry counts, branch probabilities and ranges"
            ));
        }
        // One range per basic-block section (a function of one block has one, not marked).
        let ranges = if features & MULTI_BB_RANGE != 0 {
            uleb(map, &mut pos, what)
        } else {
            1
        };
        // (section, first block of the range?) per block, in map order; sections by block ID.
        let mut blocks: Vec<(usize, bool)> = Vec::new();
        let mut by_id: BTreeMap<u64, usize> = BTreeMap::new();
        for _ in 0..ranges {
            let base_at = pos as u64;
            pos += 8;
            let r = relocs
                .iter()
                .find(|r| r.r_offset == base_at && r.r_type == 1)
                .unwrap_or_else(|| fail(format!("{what}: a range without a base relocation")));
            let sym = elf
                .syms
                .get(r.r_sym)
                .unwrap_or_else(|| fail(format!("{what}: bad symbol index in the map")));
            if sym.st_value as i64 + r.r_addend.unwrap_or(0) != 0 {
                fail(format!("{what}: a range that does not start its section"));
            }
            let sec = sym.st_shndx;
            let n = uleb(map, &mut pos, what);
            let mut covered = 0u64;
            for k in 0..n {
                let id = uleb(map, &mut pos, what);
                by_id.insert(id, sec);
                covered += uleb(map, &mut pos, what);
                covered += uleb(map, &mut pos, what);
                let _metadata = uleb(map, &mut pos, what);
                blocks.push((sec, k == 0));
            }
            if covered != section_size(sec) {
                fail(format!(
                    "{what}: the map's blocks cover {covered} bytes of a {}-byte section",
                    section_size(sec)
                ));
            }
        }
        if features & FUNC_ENTRY_COUNT != 0 {
            uleb(map, &mut pos, what);
        }
        for &(sec, first) in &blocks {
            let f = uleb(map, &mut pos, what);
            let succs = uleb(map, &mut pos, what);
            let mut edges = Vec::new();
            for _ in 0..succs {
                let id = uleb(map, &mut pos, what);
                let prob = uleb(map, &mut pos, what);
                let target = *by_id
                    .get(&id)
                    .unwrap_or_else(|| fail(format!("{what}: a successor ID {id} with no block")));
                edges.push((target, u32::try_from(prob).unwrap_or(u32::MAX)));
            }
            if first {
                freq.insert(sec, (f, edges));
            }
        }
    }
    freq
}

fn extract(obj_path: &Path, source: &str, debug: &mut String) -> Vec<Stencil> {
    let bytes =
        fs::read(obj_path).unwrap_or_else(|e| fail(format!("read {}: {e}", obj_path.display())));
    let elf = Elf::parse(&bytes).unwrap_or_else(|e| fail(format!("{source}: bad object: {e}")));
    if elf.header.e_machine != goblin::elf::header::EM_X86_64 {
        fail(format!("{source}: stencils must be x86-64 objects"));
    }
    let sec_name = |i: usize| {
        elf.shdr_strtab
            .get_at(elf.section_headers[i].sh_name)
            .unwrap_or("")
    };
    let sec_bytes = |i: usize| {
        let sh = &elf.section_headers[i];
        if sh.sh_type == section_header::SHT_NOBITS {
            vec![0u8; sh.sh_size as usize]
        } else {
            bytes[sh.sh_offset as usize..(sh.sh_offset + sh.sh_size) as usize].to_vec()
        }
    };
    // Relocation sections, keyed by the section they apply to.
    let mut relocs_for: BTreeMap<usize, usize> = BTreeMap::new();
    for (idx, sh) in elf.section_headers.iter().enumerate() {
        if sh.sh_type == section_header::SHT_RELA {
            relocs_for.insert(sh.sh_info as usize, idx);
        }
        if sh.sh_type == section_header::SHT_REL {
            fail(format!(
                "{source}: REL relocations are not expected on x86-64"
            ));
        }
    }
    let rela_of = |text_idx: usize| -> Vec<goblin::elf::Reloc> {
        elf.shdr_relocs
            .iter()
            .filter(|(idx, _)| Some(idx) == relocs_for.get(&text_idx))
            .flat_map(|(_, rs)| rs.iter())
            .collect()
    };

    // Every stencil's basic blocks: with -fbasic-block-sections=all each block is a section
    // named after its function, in clang's block placement order.
    let mut groups: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // Block frequencies, from the map of each function (linked to its entry section).
    let mut freq: BTreeMap<usize, (u64, Vec<(usize, u32)>)> = BTreeMap::new();
    for (idx, sh) in elf.section_headers.iter().enumerate() {
        let name = sec_name(idx);
        if name == ".llvm_bb_addr_map" {
            let what = format!("{source}: map of {}", sec_name(sh.sh_link as usize));
            freq.extend(bb_estimates(
                &elf,
                &sec_bytes(idx),
                &rela_of(idx),
                |i| elf.section_headers[i].sh_size,
                &what,
            ));
            continue;
        }
        let Some(stencil) = name.strip_prefix(".text.cpjit_op_") else {
            if name.starts_with(".text.") && sh.sh_size > 0 {
                fail(format!(
                    "{source}: function section {name} is not a stencil; helpers used by \
                     stencils must be static inline __attribute__((always_inline))"
                ));
            }
            if (name == ".data"
                || name == ".bss"
                || name.starts_with(".data.")
                || name.starts_with(".bss."))
                && sh.sh_size > 0
            {
                fail(format!(
                    "{source}: writable static data ({name}) is not allowed in stencils"
                ));
            }
            continue;
        };
        if !stencil.starts_with(|c: char| c.is_ascii_uppercase()) {
            fail(format!(
                "{source}: stencil name {stencil:?} does not start with a letter: an opcode name \
                 was macro-expanded (use STENCIL_FN(cpjit_op_##NAME) inside macros)"
            ));
        }
        groups.entry(stencil.to_string()).or_default().push(idx);
    }

    let mut out = Vec::new();
    for (stencil, mut sections) in groups {
        // The entry block is the section holding the function's symbol.
        let fname = format!("cpjit_op_{stencil}");
        let entry = elf
            .syms
            .iter()
            .find(|s| s.st_type() == sym::STT_FUNC && elf.strtab.get_at(s.st_name) == Some(&fname))
            .map(|s| (s.st_shndx, s.st_value))
            .unwrap_or_else(|| fail(format!("{source}: stencil {stencil}: no function symbol")));
        match sections.iter().position(|&i| i == entry.0) {
            Some(p) if entry.1 == 0 => {
                let e = sections.remove(p);
                sections.insert(0, e);
            }
            _ => fail(format!(
                "{source}: stencil {stencil}: its symbol does not start one of its sections"
            )),
        }
        let block_of = |sec: usize| sections.iter().position(|&i| i == sec);
        let mut data: Vec<u8> = Vec::new();
        let mut data_base: BTreeMap<usize, u64> = BTreeMap::new();
        let mut blocks: Vec<split::Block<Reloc>> = Vec::new();
        for &idx in &sections {
            let code = sec_bytes(idx);
            let mut relocs = Vec::new();
            let mut branches = Vec::new();
            for r in rela_of(idx) {
                let Some(kind) = PatchKind::from_elf_x86_64(r.r_type) else {
                    fail(format!(
                        "{source}: stencil {stencil}: relocation type {} ({}) at offset {:#x} is not handled",
                        r.r_type,
                        goblin::elf::reloc::r_to_str(r.r_type, goblin::elf::header::EM_X86_64),
                        r.r_offset
                    ));
                };
                let s = elf
                    .syms
                    .get(r.r_sym)
                    .unwrap_or_else(|| fail(format!("{source}: bad symbol index")));
                let sname = elf.strtab.get_at(s.st_name).unwrap_or("");
                let addend = r.r_addend.unwrap_or(0);
                let target = if s.st_shndx == section_header::SHN_UNDEF as usize {
                    match HoleValue::from_symbol(sname) {
                        Some(HoleValue::Hot | HoleValue::Cold) => fail(format!(
                            "{source}: stencil {stencil}: {sname} is the compiler's, not a hole \
                             stencils may use"
                        )),
                        Some(h) => Target::Hole(h),
                        None if sname.starts_with("_JIT_") => {
                            fail(format!("{source}: stencil {stencil}: unknown hole {sname}"))
                        }
                        None => Target::Symbol(sname.to_string()),
                    }
                } else if let Some(b) = block_of(s.st_shndx) {
                    // A branch to another basic block of this stencil: it must be the rel32 of
                    // a jmp/jcc reaching the start of the block (split.rs checks the opcode and
                    // where in its block the branch is).
                    let o = r.r_offset as usize;
                    let opcode_ok = kind == PatchKind::Pc32
                        && o >= 1
                        && (code[o - 1] == 0xe9
                            || (o >= 2 && code[o - 2] == 0x0f && code[o - 1] & 0xf0 == 0x80));
                    if !opcode_ok || s.st_value as i64 + addend != -4 {
                        fail(format!(
                            "{source}: stencil {stencil}: the relocation at offset {o:#x} of one \
                             of its blocks reaches another block ({sname}{addend:+}) but is not \
                             the rel32 of a jmp (E9) or jcc (0F 8x) to its start"
                        ));
                    }
                    branches.push((r.r_offset, b));
                    continue;
                } else {
                    let tsec = s.st_shndx;
                    let tname = sec_name(tsec);
                    if tname.starts_with(".text") {
                        fail(format!(
                            "{source}: stencil {stencil} references function code in {tname} ({sname}); \
                             helpers must be always_inline or live in csrc/"
                        ));
                    }
                    let tsh = &elf.section_headers[tsec];
                    if tsh.sh_flags & section_header::SHF_WRITE as u64 != 0 {
                        fail(format!(
                            "{source}: stencil {stencil} uses writable data in {tname}"
                        ));
                    }
                    if relocs_for.contains_key(&tsec) {
                        fail(format!(
                            "{source}: stencil {stencil} uses data with relocations ({tname})"
                        ));
                    }
                    let base = *data_base.entry(tsec).or_insert_with(|| {
                        let align = tsh.sh_addralign.max(1) as usize;
                        while !data.len().is_multiple_of(align) {
                            data.push(0);
                        }
                        let b = data.len() as u64;
                        data.extend(sec_bytes(tsec));
                        b
                    });
                    let value = if s.st_type() == sym::STT_SECTION {
                        0
                    } else {
                        s.st_value
                    };
                    Target::Data(base + value)
                };
                relocs.push(split::Rel {
                    offset: r.r_offset,
                    what: Reloc {
                        offset: r.r_offset,
                        kind,
                        target,
                        addend,
                    },
                });
            }
            let (f, edges) = freq.get(&idx).unwrap_or_else(|| {
                fail(format!(
                    "{source}: stencil {stencil}: a basic block without a frequency in \
                     .llvm_bb_addr_map (were the stencils compiled with -fbasic-block-address-map \
                     -mllvm -pgo-analysis-map=bb-freq,br-prob?)"
                ))
            });
            let probs = edges
                .iter()
                .map(|&(sec, p)| {
                    let b = block_of(sec).unwrap_or_else(|| {
                        fail(format!(
                            "{source}: stencil {stencil}: .llvm_bb_addr_map names a successor \
                             outside the stencil"
                        ))
                    });
                    (b, p)
                })
                .collect();
            blocks.push(split::Block {
                bytes: code,
                relocs,
                branches,
                freq: *f,
                probs,
            });
        }
        let hot = split::classify(&blocks);
        // For reading what the split did: OUT_DIR/split.txt, one line per block (`freq`:
        // split.rs's estimate, the entry's 1; `clang`: clang's, which split.rs does not use).
        {
            let mut d = String::new();
            writeln!(d, "{stencil}").unwrap();
            let freq = split::frequencies(&blocks);
            for (i, b) in blocks.iter().enumerate() {
                writeln!(
                    d,
                    "  {i:3} {:5} {:>4} B freq {:10.6} clang {:>20} edges {:?} branches {:?}",
                    if hot[i] { "hot" } else { "cold" },
                    b.bytes.len(),
                    freq[i],
                    b.freq,
                    b.probs,
                    b.branches.iter().map(|x| x.1).collect::<Vec<_>>()
                )
                .unwrap();
            }
            debug.push_str(&d);
        }
        let parts = split::assemble(&blocks, &hot, |r| {
            r.kind == PatchKind::Pc32
                && r.addend == -4
                && matches!(r.target, Target::Hole(HoleValue::Continue))
        })
        .unwrap_or_else(|e| fail(format!("{source}: stencil {stencil}: {e}")));
        let hot_len = parts.hot.code.len();
        let mut code = parts.hot.code.clone();
        code.extend_from_slice(&parts.cold.code);
        let mut relocs: Vec<Reloc> = Vec::new();
        for (shift, part, other) in [
            (0, &parts.hot, HoleValue::Cold),
            (hot_len as u64, &parts.cold, HoleValue::Hot),
        ] {
            for r in &part.relocs {
                relocs.push(Reloc {
                    offset: shift + r.offset,
                    ..r.what.clone()
                });
            }
            for c in &part.cross {
                relocs.push(Reloc {
                    offset: shift + c.offset,
                    kind: PatchKind::Pc32,
                    target: Target::Hole(other),
                    addend: c.target as i64 - 4,
                });
            }
        }
        relocs.sort_by_key(|r| r.offset);
        out.push(Stencil {
            name: stencil,
            code,
            hot_len,
            data,
            relocs,
        });
    }
    out
}

fn bytes_literal(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 5 + 2);
    s.push('[');
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        write!(s, "{x}").unwrap();
    }
    s.push(']');
    s
}

fn main() {
    println!("cargo:rerun-if-changed=stencils");
    println!("cargo:rerun-if-changed=csrc");
    println!("cargo:rerun-if-changed=src/holes.rs");
    println!("cargo:rerun-if-changed=src/patch.rs");
    println!("cargo:rerun-if-changed=src/split.rs");
    println!("cargo:rerun-if-env-changed=CPJIT_CLANG");
    println!("cargo:rerun-if-env-changed=PYO3_PYTHON");

    let out_dir = PathBuf::from(env::var("OUT_DIR").unwrap());
    let py = python_info();
    let clang = find_clang();
    let flags = stencil_flags(&py.include);

    // Compile stencil sources, two at a time (the machines this targets have two cores).
    let mut sources: Vec<PathBuf> = fs::read_dir("stencils")
        .unwrap_or_else(|e| fail(format!("stencils/: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    sources.sort();
    if sources.is_empty() {
        fail("no stencils found in stencils/");
    }
    let jobs: Vec<(PathBuf, PathBuf)> = sources
        .iter()
        .map(|src| {
            let stem = src.file_stem().unwrap().to_string_lossy().into_owned();
            (src.clone(), out_dir.join(format!("stencil_{stem}.o")))
        })
        .collect();
    let parallel = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(1);
    for chunk in jobs.chunks(parallel) {
        let handles: Vec<_> = chunk
            .iter()
            .map(|(src, obj)| {
                let mut cmd = Command::new(&clang);
                cmd.args(&flags).arg(src).arg("-o").arg(obj);
                (src.clone(), cmd.output())
            })
            .collect();
        for (src, result) in handles {
            let out = result.unwrap_or_else(|e| fail(format!("running {clang}: {e}")));
            if !out.status.success() {
                fail(format!(
                    "clang failed on {}:\n{}",
                    src.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
    }

    let mut stencils: Vec<Stencil> = Vec::new();
    let mut debug = String::new();
    for (src, obj) in &jobs {
        stencils.extend(extract(obj, &src.display().to_string(), &mut debug));
    }
    fs::write(out_dir.join("split.txt"), debug).unwrap();
    stencils.sort_by(|a, b| a.name.cmp(&b.name));
    for w in stencils.windows(2) {
        if w[0].name == w[1].name {
            fail(format!("stencil {} is defined twice", w[0].name));
        }
    }

    // The tables hold no pointers (src/stencils.rs): every per-stencil slice is an offset and a
    // length into one static per element type, so loading the extension relocates none of them.
    // External symbols are numbered in first-use order.
    let mut symbols: Vec<String> = Vec::new();
    // STENCILS' entries, BODIES' type and value, then the contents of the shared arrays.
    let mut headers = String::new();
    let mut body_fields = String::new();
    let mut body_values = String::new();
    let mut holes = String::new();
    let mut n_holes = 0usize;
    let mut lists: Vec<u16> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    let mut names = String::new();
    // An offset into one of the shared arrays (u32) and a length (u16), or a failed build.
    let span = |stencil: &str, what: &str, at: usize, len: usize| -> (u32, u16) {
        match (u32::try_from(at), u16::try_from(len)) {
            (Ok(at), Ok(len)) => (at, len),
            _ => fail(format!(
                "{stencil}: {what} ({len} at {at}) does not fit the stencil table"
            )),
        }
    };
    // Stencils are numbered in u16 in the opcode tables, u16::MAX (NO_STENCIL) meaning none.
    if stencils.len() >= u16::MAX as usize {
        fail(format!(
            "{} stencils: too many to number in u16",
            stencils.len()
        ));
    }
    for (k, s) in stencils.iter().enumerate() {
        if !s.name.is_ascii() {
            fail(format!("stencil name {:?} is not ASCII", s.name));
        }
        // References to symbols through a GOT slot that have a direct form ship in it (src/
        // patch.rs GotForm): the compiler then writes only the displacement to the symbol.
        let mut code = s.code.clone();
        let forms: Vec<Option<GotForm>> = s
            .relocs
            .iter()
            .map(|r| match (&r.target, r.kind) {
                (Target::Symbol(_), PatchKind::GotPc32) if r.addend == -4 => {
                    let form = GotForm::of(&code, r.offset as usize)?;
                    form.relax(&mut code, r.offset as usize);
                    Some(form)
                }
                _ => None,
            })
            .collect();
        let holes_at = n_holes;
        writeln!(holes, "    // {}", s.name).unwrap();
        // Precomputed for the compiler (no per-hole scan or dispatch at run time): the patch
        // program, every hole of the common kinds ready to apply, sorted by kind (64-bit hole
        // values, 32-bit hole values, then PC-relative ones: hole values and symbols through the
        // chunk's symbol table, whose slot offset `8 * symbol` is folded into the addend), each
        // as (offset in its part, part, value-table index, addend). Within a kind, the hot part's
        // holes come first and, among the PC-relative ones of a part, the hole values before the
        // symbols, each in relocation order: the order the compiler patched them in before the
        // patch program, so the first hole out of range (the one an error names) is the same.
        let mut program: [Vec<(u64, u8, usize, i64)>; 3] = Default::default();
        let mut other: Vec<usize> = Vec::new();
        let mut got_symbols: Vec<usize> = Vec::new();
        let mut pc32_symbols: Vec<usize> = Vec::new();
        let mut private_got = 0usize;
        let mut hole_mask = 0u32;
        for (ri, r) in s.relocs.iter().enumerate() {
            let (part, part_offset) = if (r.offset as usize) < s.hot_len {
                (0u8, r.offset)
            } else {
                (1u8, r.offset - s.hot_len as u64)
            };
            match (&r.target, r.kind) {
                (Target::Hole(h), PatchKind::Abs64) => {
                    program[0].push((part_offset, part, *h as usize, r.addend))
                }
                (Target::Hole(h), PatchKind::Abs32) => {
                    program[1].push((part_offset, part, *h as usize, r.addend))
                }
                (Target::Hole(h), PatchKind::Pc32) => {
                    program[2].push((part_offset, part, *h as usize, r.addend))
                }
                (Target::Symbol(_), PatchKind::GotPc32) => {} // below, once numbered
                _ => other.push(ri),
            }
            let target = match &r.target {
                Target::Hole(h) => {
                    hole_mask |= 1 << (*h as u32);
                    if r.kind == PatchKind::GotPc32 {
                        private_got += 1;
                    }
                    format!("Target::Hole({})", h.rust_path())
                }
                Target::Data(off) => {
                    if r.kind == PatchKind::GotPc32 {
                        private_got += 1;
                    }
                    format!("Target::Data({off})")
                }
                Target::Symbol(name) => {
                    let i = symbols.iter().position(|x| x == name).unwrap_or_else(|| {
                        symbols.push(name.clone());
                        symbols.len() - 1
                    });
                    let list = match r.kind {
                        PatchKind::GotPc32 => Some(&mut got_symbols),
                        PatchKind::Pc32 => Some(&mut pc32_symbols),
                        PatchKind::Abs64 | PatchKind::Abs32 => None,
                    };
                    if let Some(list) = list {
                        if !list.contains(&i) {
                            list.push(i);
                        }
                    }
                    if r.kind == PatchKind::GotPc32 {
                        let got_base = HoleValue::ALL.len(); // the compiler's GOT_BASE
                        match forms[ri] {
                            // SYMBOL_DIRECT + the form, at the direct form's displacement;
                            // the addend is the symbol.
                            Some(form) => program[2].push((
                                form.rel32_at(part_offset as usize) as u64,
                                part,
                                got_base + 1 + form as usize,
                                i as i64,
                            )),
                            None => program[2].push((
                                part_offset,
                                part,
                                got_base,
                                r.addend + 8 * i as i64,
                            )),
                        }
                    }
                    format!("Target::Symbol({i})")
                }
            };
            writeln!(
                holes,
                "    Hole {{ offset: {}, kind: PatchKind::{:?}, target: {target}, addend: {} }},",
                r.offset, r.kind, r.addend
            )
            .unwrap();
            n_holes += 1;
        }
        let counts = [program[0].len(), program[1].len()];
        let mut patches = Vec::new();
        let got_base = HoleValue::ALL.len();
        // The compiler applies patch programs without bounds checks (compiler.rs,
        // apply_patches): every patch must lie inside its part, 8 bytes wide for the 64-bit
        // ones and 4 for the rest, and name an entry of the value table (the hole values, then
        // GOT_BASE). Checked here, where the programs are made, so that no process pays for it.
        let part_len = [s.hot_len, s.code.len() - s.hot_len];
        for (kind, list) in program.iter_mut().enumerate() {
            list.sort_by_key(|&(_, part, value, _)| (part, value >= got_base));
            let width = if kind == 0 { 8 } else { 4 };
            for &(offset, part, value, addend) in list.iter() {
                let last_value = got_base + GotForm::ALL.len(); // SYMBOL_DIRECT's last form
                let indirect_inside = value <= got_base || value > last_value || {
                    let disp_at = GotForm::ALL[value - got_base - 1].disp_at(offset as usize);
                    disp_at >= 2 && disp_at + 4 <= part_len[part as usize]
                };
                // (A direct reference's indirect form, put back when the symbol is out of
                // reach, must lie inside its part too, opcode bytes included.)
                if offset as usize + width > part_len[part as usize]
                    || value > last_value
                    || !indirect_inside
                {
                    fail(format!(
                        "{}: patch at {offset} of part {part} (value {value}) lies outside its part",
                        s.name
                    ));
                }
                let (Ok(offset), Ok(addend)) = (u16::try_from(offset), i32::try_from(addend))
                else {
                    fail(format!(
                        "{}: hole at {offset} (addend {addend}) does not fit the patch program",
                        s.name
                    ));
                };
                patches.push(format!(
                    "Patch {{ offset: {offset}, part: {part}, value: {value}, addend: {addend} }}"
                ));
            }
        }
        let [n_abs64, n_abs32] = counts.map(|n| {
            u8::try_from(n).unwrap_or_else(|_| fail(format!("{}: too many holes", s.name)))
        });
        let cache_slots = if hole_mask & (1 << (HoleValue::Cache as u32)) == 0 {
            0
        } else if s
            .relocs
            .iter()
            .any(|r| matches!(&r.target, Target::Symbol(name) if name == WIDE_CACHE_HELPER))
        {
            2
        } else {
            1
        };
        let name = s.name.as_str();
        let (_, code_len) = span(name, "code", 0, code.len());
        let (_, patches_len) = span(name, "patch program", 0, patches.len());
        let (_, pc32_symbols_len) = span(name, "PC-relative symbols", 0, pc32_symbols.len());
        let (data_at, data_len) = span(name, "data", data.len(), s.data.len());
        let (name_at, name_len) = span(name, "name", names.len(), name.len());
        let (holes_at, holes_len) = span(name, "holes", holes_at, n_holes - holes_at);
        let (got_symbols_at, got_symbols_len) =
            span(name, "GOT symbols", lists.len(), got_symbols.len());
        let (other_at, other_len) = span(
            name,
            "other holes",
            lists.len() + got_symbols.len(),
            other.len(),
        );
        data.extend_from_slice(&s.data);
        names.push_str(name);
        lists.extend(got_symbols.iter().chain(&other).map(|&x| x as u16));
        writeln!(
            headers,
            "  // {k}: {name}\n  Stencil {{\n    \
             code_at: offset_of!(Bodies, b{k}.code) as u32,\n    \
             patches_at: offset_of!(Bodies, b{k}.patches) as u32,\n    \
             pc32_symbols_at: offset_of!(Bodies, b{k}.pc32_symbols) as u32,\n    \
             data_at: {data_at}, hot_len: {}, hole_mask: {hole_mask:#x},\n    \
             code_len: {code_len}, patches_len: {patches_len}, \
             pc32_symbols_len: {pc32_symbols_len}, data_len: {data_len},\n    \
             private_got: {private_got}, cache_slots: {cache_slots}, n_abs64: {n_abs64}, \
             n_abs32: {n_abs32}, extras: {},\n    \
             name_at: {name_at}, holes_at: {holes_at}, got_symbols_at: {got_symbols_at}, \
             other_at: {other_at},\n    \
             name_len: {name_len}, holes_len: {holes_len}, got_symbols_len: {got_symbols_len}, \
             other_len: {other_len},\n  }},",
            s.hot_len,
            !s.data.is_empty() || !other.is_empty()
        )
        .unwrap();
        writeln!(
            body_fields,
            "    b{k}: StencilBody<{}, {}, {}>, // {name}",
            code.len(),
            patches.len(),
            pc32_symbols.len(),
        )
        .unwrap();
        writeln!(
            body_values,
            "    b{k}: StencilBody {{ code: {}, patches: [{}], pc32_symbols: {pc32_symbols:?} }},",
            bytes_literal(&code),
            patches.join(", "),
        )
        .unwrap();
    }
    let mut rs = String::new();
    writeln!(
        rs,
        "// Generated by build.rs from stencils/*.c. Do not edit.\n\
         // Offsets and lengths (`*_at`, `*_len`) are into BODIES (code, patches, pc32_symbols),\n\
         // DATA, STENCIL_NAMES, HOLES and LISTS (got_symbols, other): see src/stencils.rs.\n"
    )
    .unwrap();
    writeln!(
        rs,
        "pub static STENCILS: [Stencil; {}] = [\n{headers}];\n",
        stencils.len()
    )
    .unwrap();
    // Each stencil's code, patch program and PC-relative symbols, which every compile reads
    // together, side by side in one 64-byte-aligned field of BODIES (src/stencils.rs,
    // StencilBody).
    writeln!(
        rs,
        "/// Every stencil's [`StencilBody`], in STENCILS order.\n#[repr(C)]\n\
         struct Bodies {{\n{body_fields}}}\n\n\
         static BODIES: Bodies = Bodies {{\n{body_values}}};\n"
    )
    .unwrap();
    writeln!(
        rs,
        "static HOLES: [Hole; {n_holes}] = [\n{holes}];\n\n\
         static LISTS: [u16; {}] = {lists:?};\n\n\
         static DATA: [u8; {}] = {};\n\n\
         static STENCIL_NAMES: [u8; {}] = *b{names:?};\n",
        lists.len(),
        data.len(),
        bytes_literal(&data),
        names.len(),
    )
    .unwrap();
    let (symbol_names, symbol_name_at) = packed_names("symbol", &symbols);
    writeln!(
        rs,
        "static SYMBOL_NAMES: [u8; {}] = *b{symbol_names:?};\n\n\
         static SYMBOL_NAME_AT: [u32; {}] = {symbol_name_at:?};\n",
        symbol_names.len(),
        symbol_name_at.len(),
    )
    .unwrap();
    // What each stencil is for, from its name (the compiler's stencil choice, without parsing
    // names at run time), as per-opcode tables of indices into STENCILS (NO_STENCIL for none):
    // GENERIC (an opcode's generic stencil), VARIANTS by opcode then oparg (`<OPCODE>__<oparg>`;
    // each opcode's (start, count) in VARIANT_LIST), PAIRS by opcode (`<OPCODE>__<oparg>__<NEXT>`
    // as (oparg, next opcode, stencil); each opcode's (start, count) in PAIR_LIST) and TAILS
    // (`<OPCODE>_TAIL`, the second half of a superinstruction).
    let op_of = |n: &str| py.opname.iter().position(|x| x == n);
    let mut generic: Vec<Option<usize>> = vec![None; 256];
    let mut tails: Vec<Option<usize>> = vec![None; 256];
    let mut variants: Vec<Vec<Option<usize>>> = vec![Vec::new(); 256];
    let mut pairs: Vec<Vec<(u32, usize, usize)>> = vec![Vec::new(); 256];
    for (idx, st) in stencils.iter().enumerate() {
        let parts: Vec<&str> = st.name.split("__").collect();
        let row = if let [first, arg, second] = parts[..] {
            match (op_of(first), arg.parse::<u32>(), op_of(second)) {
                (Some(op), Ok(arg), Some(next)) => Some((2, op, arg, next)),
                _ => None,
            }
        } else if let Some((base, arg)) = st.name.split_once("__") {
            match (op_of(base), arg.parse::<u32>()) {
                (Some(op), Ok(arg)) => Some((1, op, arg, 0)),
                _ => None,
            }
        } else if let Some(op) = st.name.strip_suffix("_TAIL").and_then(&op_of) {
            Some((3, op, 0, 0))
        } else {
            op_of(&st.name).map(|op| (0, op, 0, 0))
        };
        if let Some((kind, op, arg, next)) = row {
            match kind {
                0 => generic[op] = Some(idx),
                1 => {
                    let v = &mut variants[op];
                    if v.len() <= arg as usize {
                        v.resize(arg as usize + 1, None);
                    }
                    v[arg as usize] = Some(idx);
                }
                2 => pairs[op].push((arg, next, idx)),
                _ => tails[op] = Some(idx),
            }
        }
    }
    let index = |i: &Option<usize>| i.map_or("NO_STENCIL".to_string(), |i| i.to_string());
    for (name, table) in [("GENERIC", &generic), ("TAILS", &tails)] {
        let items: Vec<String> = table.iter().map(index).collect();
        writeln!(rs, "static {name}: [u16; 256] = [{}];\n", items.join(", ")).unwrap();
    }
    // Each opcode's (start, count) in a list of all opcodes' rows, end to end.
    let ranges = |what: &str, counts: &mut dyn Iterator<Item = usize>| -> String {
        let mut at = 0usize;
        let items: Vec<String> = counts
            .map(|n| {
                at += n;
                format!("({}, {n})", at - n)
            })
            .collect();
        if at > u16::MAX as usize {
            fail(format!("{what}: {at} rows, too many to number in u16"));
        }
        items.join(", ")
    };
    let variant_list: Vec<String> = variants.iter().flatten().map(index).collect();
    let pair_list: Vec<String> = pairs
        .iter()
        .flatten()
        .map(|(a, n, i)| format!("({a}, {n}, {i})"))
        .collect();
    writeln!(
        rs,
        "static VARIANTS: [(u16, u16); 256] = [{}];\n\n\
         static VARIANT_LIST: [u16; {}] = [{}];\n\n\
         static PAIRS: [(u16, u16); 256] = [{}];\n\n\
         static PAIR_LIST: [(u32, u8, u16); {}] = [{}];",
        ranges("VARIANTS", &mut variants.iter().map(Vec::len)),
        variant_list.len(),
        variant_list.join(", "),
        ranges("PAIRS", &mut pairs.iter().map(Vec::len)),
        pair_list.len(),
        pair_list.join(", "),
    )
    .unwrap();
    fs::write(out_dir.join("stencils.rs"), rs).unwrap();

    let mut ops = String::new();
    writeln!(
        ops,
        "// Generated by build.rs from the target Python's dis/opcode modules."
    )
    .unwrap();
    // (src/opcodes.rs, name)
    let (opnames, opname_at) = packed_names("opcode", &py.opname);
    writeln!(
        ops,
        "static OPNAMES: [u8; {}] = *b{opnames:?};\nstatic OPNAME_AT: [u32; 257] = {opname_at:?};",
        opnames.len()
    )
    .unwrap();
    writeln!(ops, "pub static DEOPT: [u8; 256] = {:?};", py.deopt).unwrap();
    writeln!(
        ops,
        "pub static CACHE_ENTRIES: [u8; 256] = {:?};",
        py.caches
    )
    .unwrap();
    writeln!(
        ops,
        "/// Opcode numbers by name (no name lookup at run time)."
    )
    .unwrap();
    writeln!(ops, "pub mod op {{").unwrap();
    for (i, n) in py.opname.iter().enumerate() {
        if n.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && n.starts_with(|c: char| c.is_ascii_uppercase())
        {
            writeln!(ops, "    pub const {n}: u8 = {i};").unwrap();
        }
    }
    writeln!(ops, "}}").unwrap();
    fs::write(out_dir.join("opcodes.rs"), ops).unwrap();

    // The address of every external symbol, taken by the dynamic linker when the extension loads:
    // a symbol the interpreter does not export fails the import with its name.
    let mut c = String::from("/* Generated by build.rs. Do not edit. */\n");
    for s in &symbols {
        writeln!(c, "extern char {s};").unwrap();
    }
    writeln!(c, "const void *const cpjit_symbol_addresses[] = {{").unwrap();
    for s in &symbols {
        writeln!(c, "    (const void *)&{s},").unwrap();
    }
    writeln!(c, "    0\n}};").unwrap();
    let symbols_c = out_dir.join("symbols.c");
    fs::write(&symbols_c, c).unwrap();
    write_calibration_header(&py, &out_dir);

    let mut runtime: Vec<PathBuf> = fs::read_dir("csrc")
        .unwrap_or_else(|e| fail(format!("csrc/: {e}")))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "c"))
        .collect();
    runtime.sort();
    cc::Build::new()
        .compiler(&clang)
        .files(&runtime)
        .file(&symbols_c)
        .include(&out_dir)
        .include(&py.include)
        .include(format!("{}/internal", py.include))
        .include("csrc")
        .flag("-std=c11")
        .flag("-fno-strict-aliasing")
        .flag("-Werror=implicit-function-declaration")
        // Calls into CPython through the GOT, `call *[rip+slot]`, not a PLT stub's extra jump
        // (the extension's symbols are all bound when it loads anyway: symbols.c).
        .flag("-fno-plt")
        // cc adds -fno-omit-frame-pointer when the profile has debug info (line tables here):
        // a push/mov/pop of rbp in every call helper native code makes, for nothing it uses.
        .force_frame_pointer(false)
        .define("NDEBUG", None)
        .warnings(true)
        .extra_warnings(false)
        .flag("-Wno-unused-parameter")
        .compile("cpjit_rt");

    link_unwinder_statically(&clang);

    // Keep the helpers marked CPJIT_HOT (cpjit_rt.h) together: both lld and GNU ld gather the
    // .text.hot.* sections clang makes for them into one .text.hot output section with this
    // (lld otherwise merges every .text.* into .text in input order).
    println!("cargo:rustc-link-arg-cdylib=-Wl,-z,keep-text-section-prefix");

    // Test and bench binaries link libpython (the extension itself does not): find it at run time.
    if !py.libdir.is_empty() {
        println!("cargo:rustc-link-arg-tests=-Wl,-rpath,{}", py.libdir);
        println!("cargo:rustc-link-arg-benches=-Wl,-rpath,{}", py.libdir);
    }
}
