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
    assert_eq!(w.address(), addr, "best fit reuses the hole");
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
