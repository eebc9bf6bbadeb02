//! The executable-memory allocator as a whole: freed space is reused, survivors keep only their
//! pages mapped, and the cap refuses allocations past it. A test binary of its own, because the
//! heap and the cap are process-wide and the library's unit tests allocate concurrently.

use cpjit::memory::{
    is_cap_reached, set_max_executable_bytes, stats, ExecutableCode, WritableCode,
};
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn freed_space_is_reused_and_zero_filled() {
    let _serial = lock(&SERIAL);
    let mut w = WritableCode::new(1000).unwrap();
    w.bytes_mut().fill(0xab);
    let x = w.seal().unwrap();
    let keep = WritableCode::new(64).unwrap().seal().unwrap(); // keeps the chunk alive
    let addr = x.address();
    drop(x);
    let w = WritableCode::new(1000).unwrap();
    // The same pages (a region's start within them moves from one region to the next).
    assert_eq!(
        w.address() & !4095,
        addr & !4095,
        "best fit reuses the hole"
    );
    let mut w = w;
    assert!(w.bytes_mut().iter().all(|b| *b == 0));
    drop(w);
    drop(keep);
}

#[test]
fn survivors_keep_only_their_pages_mapped() {
    let _serial = lock(&SERIAL);
    let before = stats();
    let mut all: Vec<Option<ExecutableCode>> = (0..4000)
        .map(|i| {
            let mut w = WritableCode::new(1500 + i % 700).unwrap();
            w.bytes_mut().fill(0xc3);
            Some(w.seal().unwrap())
        })
        .collect();
    for (i, c) in all.iter_mut().enumerate() {
        if i % 100 != 0 {
            *c = None;
        }
    }
    let s = stats();
    let live = s.live_bytes - before.live_bytes;
    let mapped = s.mapped_bytes.saturating_sub(before.mapped_bytes);
    assert!(
        mapped <= 4 * live,
        "{mapped} bytes mapped for {live} live ({s:?})"
    );
    // And new code goes into the holes: 40 more regions map (almost) nothing new.
    let reserved = stats().reserved_bytes;
    let more: Vec<_> = (0..40)
        .map(|_| WritableCode::new(1500).unwrap().seal().unwrap())
        .collect();
    assert!(stats().reserved_bytes <= reserved);
    drop(more);
    for c in all.iter().flatten() {
        assert!(c.bytes().iter().all(|b| *b == 0xc3));
    }
}

#[test]
fn the_cap_refuses_allocations_past_it() {
    let _serial = lock(&SERIAL);
    let now = stats().mapped_bytes;
    set_max_executable_bytes(now + 64 * 1024);
    let mut kept = Vec::new();
    let err = loop {
        match WritableCode::new(8000) {
            Ok(w) => kept.push(w.seal().unwrap()),
            Err(e) => break e,
        }
        assert!(kept.len() < 100, "the cap never refused");
    };
    set_max_executable_bytes(0);
    assert!(is_cap_reached(&err), "{err}");
    assert!(stats().cap_refusals >= 1);
    assert!(kept.len() >= 6);
}

/// The mappings of this process that are writable and executable at once.
fn writable_and_executable() -> Vec<String> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .filter(|l| {
            let perms = l.split_whitespace().nth(1).unwrap_or("");
            perms.contains('w') && perms.contains('x')
        })
        .map(String::from)
        .collect()
}

#[test]
fn sealed_code_runs_and_no_page_is_writable_and_executable() {
    let _serial = lock(&SERIAL);
    let mut kept = Vec::new();
    for i in 0..50u8 {
        // mov eax, i; ret
        let mut w = WritableCode::new(100 + 137 * i as usize).unwrap();
        w.bytes_mut()[..6].copy_from_slice(&[0xb8, i, 0, 0, 0, 0xc3]);
        assert!(writable_and_executable().is_empty());
        kept.push((w.seal().unwrap(), i));
        assert!(writable_and_executable().is_empty());
        if i % 3 == 0 {
            kept.remove(kept.len() / 2); // free some: later regions reuse the space
        }
    }
    for (code, i) in &kept {
        // SAFETY: the region holds a complete C-ABI function (mov eax, imm32; ret) in executable
        // memory that stays mapped while `code` lives.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(code.address() as usize) };
        assert_eq!(f(), *i as u32);
    }
}

#[test]
fn a_sealed_region_is_not_writable() {
    let _serial = lock(&SERIAL);
    let mut w = WritableCode::new(64).unwrap();
    w.bytes_mut()[0] = 0xc3;
    let code = w.seal().unwrap();
    let a = code.address() as usize;
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let perms = maps
        .lines()
        .find_map(|l| {
            let mut it = l.split_whitespace();
            let (range, perms) = (it.next()?, it.next()?);
            let (lo, hi) = range.split_once('-')?;
            let (lo, hi) = (
                usize::from_str_radix(lo, 16).ok()?,
                usize::from_str_radix(hi, 16).ok()?,
            );
            (lo <= a && a < hi).then(|| perms.to_string())
        })
        .expect("the region is mapped");
    assert!(perms.starts_with("r-x"), "{perms}");
}
