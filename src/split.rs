//! Hot/cold splitting of one stencil at build time: basic blocks in, a hot part and a cold part out.
//!
//! build.rs compiles stencils with `-fbasic-block-sections=all`, so every basic block of a stencil
//! function is a section of its own, and every branch between blocks is a `jmp rel32` or
//! `jcc rel32` with a relocation against the target block. This module (build.rs includes it;
//! its tests run with `cargo test`) does the rest, on plain bytes, without ELF:
//!
//! 1. [`classify`]: from clang's static estimates (read from `.llvm_bb_addr_map` by build.rs:
//!    edge probabilities, which come from `__builtin_expect` and from calls to functions
//!    declared `cold`, such as the error exit and the hand-over to the interpreter, see
//!    stencils/stencil.h; block frequencies are computed from them by [`frequencies`], not
//!    taken from clang), an edge is *unlikely* when its probability is below
//!    1/[`UNLIKELY_EDGE`] and its target's frequency below 1/[`HINTED_RATIO`] of the entry's
//!    (the second condition keeps the exit of a loop inside a stencil hot, which clang also
//!    gives a low probability), or when its target's frequency is below 1/[`COLD_RATIO`] of the
//!    entry's whatever the hints (only the far tail of a deep tree of plain `if`s: clang gives
//!    each 37.5-62.5%, so it takes six to eight). The hot blocks are those reachable from the
//!    entry without crossing an unlikely edge; everything else (error exits, hand-overs,
//!    cache-miss paths, and whatever only they reach) is cold. Plain `if`s are left hot on
//!    purpose: with COLD_RATIO 32 instead, the small-int result, float deallocation and
//!    right-operand reuse paths of BINARY_OP went cold too; chaos then had 2.5% fewer I1 misses
//!    under callgrind but was slower in wall time (interleaved medians 187 vs 169 ms), since
//!    those paths run on every operation of some programs and each visit jumps out and back.
//! 2. [`assemble`]: lays out the hot blocks in clang's order, the one that ends in
//!    `jmp _JIT_CONTINUE` last (the compiler cuts that jump so instructions fall through into each
//!    other), and the cold blocks after them in clang's order, as two separate parts. A hot
//!    block that ends `jcc hot; jmp cold` becomes `jcc' cold; jmp hot` first (clang leaves
//!    `je _JIT_CONTINUE; jmp cold` where it made a tail call conditional). A `jmp` to
//!    the block laid out right after it is dropped, `jcc next; jmp other` becomes
//!    `jcc' other`, and branches within a part are relaxed to rel8 where the displacement fits
//!    (to a fixpoint). Branches between the parts stay rel32 and come out as *cross* references,
//!    which the compiler resolves once it has placed both parts.
//!
//! Branches may only end a block: every relocation against a block must be the rel32 of a
//! `jmp`/`jcc` in the block's final run of relocated branches; anything else is an error that
//! build.rs turns into a failed build.

/// An edge is unlikely when its probability is below 1/UNLIKELY_EDGE (clang gives a branch to
/// a block that calls a `cold` function 1/17, an `__builtin_expect` 1/2001)...
pub const UNLIKELY_EDGE: u64 = 10;
/// ...and its target's estimated frequency is below the entry's divided by this...
pub const HINTED_RATIO: u64 = 4;
/// ...or, hints or not, when its target's frequency is below the entry's divided by this.
pub const COLD_RATIO: u64 = 256;
/// clang's probabilities are numerators over 2^31.
const PROB_ONE: u64 = 1 << 31;

/// A relocation of a block (or of a part), at `offset` in its bytes; `what` is build.rs's.
#[derive(Clone, Debug, PartialEq)]
pub struct Rel<P> {
    pub offset: u64,
    pub what: P,
}

/// One basic block as clang emitted it.
#[derive(Clone, Debug)]
pub struct Block<P> {
    pub bytes: Vec<u8>,
    /// Relocations against anything but blocks of this stencil.
    pub relocs: Vec<Rel<P>>,
    /// Branches to blocks of this stencil: (offset of the rel32, target block index).
    pub branches: Vec<(u64, usize)>,
    /// clang's static frequency estimate (any scale; the entry block's is the reference). Only
    /// for reading (split.txt): [`frequencies`] says why the split computes its own.
    pub freq: u64,
    /// clang's probability of each edge to a successor block (numerator over 2^31).
    pub probs: Vec<(usize, u32)>,
}

/// A reference from one part into the other: the rel32 at `offset` must reach `target` (an
/// offset in the other part).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cross {
    pub offset: u64,
    pub target: u64,
}

#[derive(Clone, Debug)]
pub struct Part<P> {
    pub code: Vec<u8>,
    pub relocs: Vec<Rel<P>>,
    pub cross: Vec<Cross>,
}

impl<P> Default for Part<P> {
    fn default() -> Self {
        Part {
            code: Vec::new(),
            relocs: Vec::new(),
            cross: Vec::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Split<P> {
    pub hot: Part<P>,
    pub cold: Part<P>,
    /// Whether the hot part's final `jmp _JIT_CONTINUE` was cut (it falls through).
    #[allow(dead_code)]
    pub falls_through: bool,
}

/// How often each block runs per run of the stencil (the entry's is 1), from the edge
/// probabilities alone: the solution of `f = entry + sum over edges p -> b of f[p] * prob`.
///
/// clang's own block frequencies are not used: clang folds a branch to a block that is only a
/// tail call (`jmp _JIT_CONTINUE`) into a conditional tail call (`je _JIT_CONTINUE`) and drops
/// that edge, and its frequencies, computed after, share a block's whole frequency among the
/// edges left. A block's one remaining successor then looks as frequent as the block itself
/// even when its edge has probability 1/2001 (the eval-breaker call of RESUME ran "always").
/// Here the probability missing from a block's edges leaves the stencil (through such a tail
/// call), as it does at run time.
pub fn frequencies<P>(blocks: &[Block<P>]) -> Vec<f64> {
    let n = blocks.len();
    // a = I - P^T (probabilities shrunk a hair so that a loop with no exit stays solvable),
    // right-hand side the entry; Gaussian elimination with partial pivoting.
    let mut a = vec![vec![0f64; n + 1]; n];
    for (i, row) in a.iter_mut().enumerate() {
        row[i] = 1.0;
    }
    if n > 0 {
        a[0][n] = 1.0;
    }
    for (from, b) in blocks.iter().enumerate() {
        for &(to, p) in &b.probs {
            if to < n {
                a[to][from] -= p as f64 / PROB_ONE as f64 * (1.0 - 1e-9);
            }
        }
    }
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))
            .expect("rows left");
        a.swap(col, pivot);
        let d = a[col][col];
        let pivot_row = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col && row[col] != 0.0 {
                let k = row[col] / d;
                for (x, p) in row[col..=n].iter_mut().zip(&pivot_row[col..=n]) {
                    *x -= k * p;
                }
            }
        }
    }
    (0..n).map(|i| (a[i][n] / a[i][i]).max(0.0)).collect()
}

/// Which blocks are hot (block 0 is the entry).
pub fn classify<P>(blocks: &[Block<P>]) -> Vec<bool> {
    let n = blocks.len();
    let mut hot = vec![false; n];
    if n == 0 {
        return hot;
    }
    let freq = frequencies(blocks);
    let unlikely = |from: &Block<P>, to: usize| {
        let p = from
            .probs
            .iter()
            .filter(|(t, _)| *t == to)
            .map(|(_, p)| *p as u64)
            .sum::<u64>();
        let f = freq[to];
        (p * UNLIKELY_EDGE < PROB_ONE && f * (HINTED_RATIO as f64) < 1.0)
            || f * (COLD_RATIO as f64) < 1.0
    };
    let mut work = vec![0usize];
    hot[0] = true;
    while let Some(b) = work.pop() {
        for &(_, t) in &blocks[b].branches {
            if t < n && !hot[t] && !unlikely(&blocks[b], t) {
                hot[t] = true;
                work.push(t);
            }
        }
    }
    hot
}

/// Where a terminating branch goes.
#[derive(Clone, Debug)]
enum Dest<P> {
    Block(usize),
    Reloc(P),
    /// The end of the hot part, which falls through into the next instruction (what a
    /// `jmp _JIT_CONTINUE` in the hot part becomes once the part's final one is cut).
    End,
}

/// One branch of a block's final run of branches.
#[derive(Clone, Debug)]
struct Term<P> {
    /// Condition code (low nibble of `0F 8x`), or None for `jmp`.
    cond: Option<u8>,
    dest: Dest<P>,
}

/// A block cut into its body (bytes before the final run of relocated branches) and that run.
#[derive(Clone, Debug)]
struct Cut<P> {
    body: Vec<u8>,
    relocs: Vec<Rel<P>>,
    terms: Vec<Term<P>>,
}

fn cut<P: Clone>(index: usize, b: &Block<P>) -> Result<Cut<P>, String> {
    let bytes = &b.bytes;
    let mut end = bytes.len() as u64;
    // The final run of branches whose rel32 is relocated, collected backwards: a `jmp` (E9) or
    // `jcc` (0F 8x) whose displacement is the last 4 bytes before `end`.
    let mut terms: Vec<(u64, Term<P>)> = Vec::new(); // (offset of the rel32, branch)
    while end >= 5 {
        let at = end - 4;
        let dest = if let Some(&(_, t)) = b.branches.iter().find(|(o, _)| *o == at) {
            Dest::Block(t)
        } else if let Some(r) = b.relocs.iter().find(|r| r.offset == at) {
            Dest::Reloc(r.what.clone())
        } else {
            break;
        };
        let (start, cond) = if bytes[at as usize - 1] == 0xe9 {
            (at - 1, None)
        } else if at >= 2 && bytes[at as usize - 2] == 0x0f && bytes[at as usize - 1] & 0xf0 == 0x80
        {
            (at - 2, Some(bytes[at as usize - 1] & 0x0f))
        } else {
            break;
        };
        terms.push((at, Term { cond, dest }));
        end = start;
    }
    terms.reverse();
    let body_end = end;
    for &(o, t) in &b.branches {
        if !terms.iter().any(|(at, _)| *at == o) {
            return Err(format!(
                "block {index}: the relocation against block {t} at offset {o:#x} is not the rel32 \
                 of a jmp/jcc (E9 / 0F 8x) in the block's final run of branches"
            ));
        }
    }
    Ok(Cut {
        body: bytes[..body_end as usize].to_vec(),
        relocs: b
            .relocs
            .iter()
            .filter(|r| r.offset < body_end)
            .cloned()
            .collect(),
        terms: terms.into_iter().map(|(_, t)| t).collect(),
    })
}

fn term_size<P>(t: &Term<P>, short: bool) -> u64 {
    match (t.cond.is_some(), short) {
        (_, true) => 2,
        (false, false) => 5,
        (true, false) => 6,
    }
}

/// Lay out the blocks (block 0 is the entry) as a hot and a cold part; `hot` from [`classify`],
/// `is_continue` says whether a relocation is `_JIT_CONTINUE` (the next instruction).
pub fn assemble<P: Clone>(
    blocks: &[Block<P>],
    hot: &[bool],
    is_continue: impl Fn(&P) -> bool,
) -> Result<Split<P>, String> {
    let n = blocks.len();
    if n == 0 || !hot[0] {
        return Err("no entry block".into());
    }
    let mut cuts: Vec<Cut<P>> = Vec::with_capacity(n);
    for (i, b) in blocks.iter().enumerate() {
        for &(_, t) in &b.branches {
            if t >= n {
                return Err(format!("block {i} branches to block {t} of {n}"));
            }
        }
        cuts.push(cut(i, b)?);
    }
    // Jump threading: a block that is only a `jmp` (clang's basic-block sections make one of
    // every shared tail jump) is bypassed by every branch to it, and dropped when nothing else
    // reaches it; except a `jmp _JIT_CONTINUE`, which can end the hot part (and be cut).
    let trampoline = |cuts: &Vec<Cut<P>>, b: usize| -> Option<Dest<P>> {
        let c = &cuts[b];
        if b == 0 || !c.body.is_empty() || c.terms.len() != 1 || c.terms[0].cond.is_some() {
            return None;
        }
        match &c.terms[0].dest {
            Dest::Reloc(p) if is_continue(p) => None,
            d => Some(d.clone()),
        }
    };
    for b in 0..n {
        for k in 0..cuts[b].terms.len() {
            let mut hops = 0;
            while let Dest::Block(x) = cuts[b].terms[k].dest {
                match trampoline(&cuts, x) {
                    Some(d) if x != b && hops < n => {
                        cuts[b].terms[k].dest = d;
                        hops += 1;
                    }
                    _ => break,
                }
            }
        }
    }
    let mut reached = vec![false; n];
    reached[0] = true;
    for c in &cuts {
        for t in &c.terms {
            if let Dest::Block(x) = t.dest {
                reached[x] = true;
            }
        }
    }
    // A hot block that ends `jcc hot; jmp cold` becomes `jcc' cold; jmp hot`, so that the hot
    // successor can follow it (clang leaves `je _JIT_CONTINUE; jmp cold` where it folded a tail
    // call into a conditional one, so the end of the hot path would be a taken branch).
    let is_hot_dest = |d: &Dest<P>| match d {
        Dest::Block(x) => hot[*x],
        Dest::Reloc(p) => is_continue(p),
        Dest::End => true,
    };
    for b in 0..n {
        if !hot[b] || !reached[b] {
            continue;
        }
        let terms = &mut cuts[b].terms;
        let k = terms.len();
        if k >= 2
            && terms[k - 1].cond.is_none()
            && terms[k - 2].cond.is_some()
            && is_hot_dest(&terms[k - 2].dest)
            && !is_hot_dest(&terms[k - 1].dest)
        {
            let cc = terms[k - 2].cond.expect("jcc") ^ 1;
            terms.swap(k - 2, k - 1);
            terms[k - 2].cond = Some(cc);
            terms[k - 1].cond = None;
        }
    }
    let ends_in_continue = |c: &Cut<P>| matches!(c.terms.last(), Some(Term { cond: None, dest: Dest::Reloc(p) }) if is_continue(p));
    // Orders: clang's, the entry first, and last the most frequent hot block that ends in
    // `jmp _JIT_CONTINUE` (of equals, the latest in clang's order), so that the common path
    // falls through into the next instruction.
    let mut hot_order: Vec<usize> = (0..n).filter(|&i| hot[i] && reached[i]).collect();
    let cold_order: Vec<usize> = (0..n).filter(|&i| !hot[i] && reached[i]).collect();
    let freq = frequencies(blocks);
    let mut last: Option<usize> = None;
    for (pos, &i) in hot_order.iter().enumerate() {
        if i != 0
            && ends_in_continue(&cuts[i])
            && last.is_none_or(|p| freq[hot_order[p]] <= freq[i])
        {
            last = Some(pos);
        }
    }
    if let Some(pos) = last {
        let b = hot_order.remove(pos);
        hot_order.push(b);
    }
    // Fall-through between consecutive blocks of a part.
    for order in [&hot_order, &cold_order] {
        for w in order.windows(2) {
            let (b, next) = (w[0], w[1]);
            let terms = &mut cuts[b].terms;
            let k = terms.len();
            let to_next = |t: &Term<P>| matches!(t.dest, Dest::Block(x) if x == next);
            if k >= 1 && terms[k - 1].cond.is_none() && to_next(&terms[k - 1]) {
                terms.pop();
            } else if k >= 2
                && terms[k - 1].cond.is_none()
                && terms[k - 2].cond.is_some()
                && to_next(&terms[k - 2])
            {
                let other = terms.pop().expect("two terms");
                let cc = terms[k - 2].cond.expect("jcc") ^ 1;
                terms[k - 2] = Term {
                    cond: Some(cc),
                    dest: other.dest,
                };
            }
        }
    }
    let last_hot = *hot_order.last().expect("entry");
    let falls_through = ends_in_continue(&cuts[last_hot]);
    if falls_through {
        cuts[last_hot].terms.pop();
        // Any other branch of the hot part to the next instruction goes to the part's end
        // instead: short where it fits.
        for &b in &hot_order {
            for t in cuts[b].terms.iter_mut() {
                if matches!(&t.dest, Dest::Reloc(p) if is_continue(p)) {
                    t.dest = Dest::End;
                }
            }
        }
    }
    // Which part each block is in (unreached blocks: in none, nothing branches to them).
    let mut part_of = vec![0u8; n];
    for &i in &cold_order {
        part_of[i] = 1;
    }
    // Relaxation to a fixpoint: start long, shorten what fits (shortening only brings targets
    // closer, so what fits keeps fitting).
    let mut short: Vec<Vec<bool>> = cuts.iter().map(|c| vec![false; c.terms.len()]).collect();
    let orders = [&hot_order, &cold_order];
    // Block starts, and the hot part's end last.
    let layout = |short: &Vec<Vec<bool>>| -> Vec<u64> {
        let mut start = vec![0u64; n + 1];
        for (p, order) in orders.iter().enumerate() {
            let mut at = 0u64;
            for &b in order.iter() {
                start[b] = at;
                at += cuts[b].body.len() as u64;
                for (t, s) in cuts[b].terms.iter().zip(&short[b]) {
                    at += term_size(t, *s);
                }
            }
            if p == 0 {
                start[n] = at;
            }
        }
        start
    };
    let local = |d: &Dest<P>, p: u8| -> Option<usize> {
        match *d {
            Dest::Block(x) if part_of[x] == p => Some(x),
            Dest::End if p == 0 => Some(n),
            _ => None,
        }
    };
    loop {
        let start = layout(&short);
        let mut changed = false;
        for &b in hot_order.iter().chain(&cold_order) {
            let mut at = start[b] + cuts[b].body.len() as u64;
            for (k, t) in cuts[b].terms.iter().enumerate() {
                let size = term_size(t, short[b][k]);
                if let Some(x) = local(&t.dest, part_of[b]) {
                    if !short[b][k] {
                        let d = start[x] as i64 - (at + 2) as i64;
                        if i8::try_from(d).is_ok() {
                            short[b][k] = true;
                            changed = true;
                        }
                    }
                }
                at += size;
            }
        }
        if !changed {
            break;
        }
    }
    let start = layout(&short);
    let mut parts: [Part<P>; 2] = [Part::default(), Part::default()];
    for (p, order) in orders.iter().enumerate() {
        let part = &mut parts[p];
        for &b in order.iter() {
            let c = &cuts[b];
            debug_assert_eq!(part.code.len() as u64, start[b]);
            let base = part.code.len() as u64;
            part.code.extend_from_slice(&c.body);
            for r in &c.relocs {
                part.relocs.push(Rel {
                    offset: base + r.offset,
                    what: r.what.clone(),
                });
            }
            for (k, t) in c.terms.iter().enumerate() {
                let at = part.code.len() as u64;
                let s = short[b][k];
                match (t.cond, s) {
                    (None, true) => part.code.push(0xeb),
                    (Some(cc), true) => part.code.push(0x70 | cc),
                    (None, false) => part.code.push(0xe9),
                    (Some(cc), false) => part.code.extend_from_slice(&[0x0f, 0x80 | cc]),
                }
                let end = at + term_size(t, s);
                let disp_at = part.code.len() as u64;
                match (&t.dest, local(&t.dest, p as u8)) {
                    (_, Some(x)) if s => {
                        let d = start[x] as i64 - end as i64;
                        let d = i8::try_from(d)
                            .map_err(|_| format!("block {b}: rel8 to block {x} out of range"))?;
                        part.code.push(d as u8);
                    }
                    (_, Some(x)) => {
                        let d = start[x] as i64 - end as i64;
                        part.code.extend_from_slice(&(d as i32).to_le_bytes());
                    }
                    (Dest::End, None) => return Err("a branch to the hot part's end".into()),
                    (Dest::Block(x), None) => {
                        part.cross.push(Cross {
                            offset: disp_at,
                            target: start[*x],
                        });
                        part.code.extend_from_slice(&[0; 4]);
                    }
                    (Dest::Reloc(what), None) => {
                        part.relocs.push(Rel {
                            offset: disp_at,
                            what: what.clone(),
                        });
                        part.code.extend_from_slice(&[0; 4]);
                    }
                }
            }
        }
    }
    let [hot, cold] = parts;
    Ok(Split {
        hot,
        cold,
        falls_through,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relocation payloads in the tests: "C" is `_JIT_CONTINUE`.
    type P = &'static str;

    fn block(
        bytes: Vec<u8>,
        relocs: Vec<(u64, P)>,
        branches: Vec<(u64, usize)>,
        freq: u64,
    ) -> Block<P> {
        Block {
            probs: Vec::new(),
            bytes,
            relocs: relocs
                .into_iter()
                .map(|(offset, what)| Rel { offset, what })
                .collect(),
            branches,
            freq,
        }
    }

    /// Edge probabilities as each target's share of its source's frequency (the tests' blocks
    /// have one predecessor each).
    fn with_probs(mut blocks: Vec<Block<P>>) -> Vec<Block<P>> {
        let freqs: Vec<u64> = blocks.iter().map(|b| b.freq).collect();
        for b in blocks.iter_mut() {
            b.probs = b
                .branches
                .iter()
                .map(|&(_, t)| (t, (PROB_ONE * freqs[t] / b.freq).min(PROB_ONE) as u32))
                .collect();
        }
        blocks
    }

    fn jmp() -> Vec<u8> {
        vec![0xe9, 0, 0, 0, 0]
    }

    fn jcc(cc: u8) -> Vec<u8> {
        vec![0x0f, 0x80 | cc, 0, 0, 0, 0]
    }

    /// LOAD_FAST's shape: entry `test; jne hot; jmp cold`, cold `call; jmp ERROR`, hot
    /// `inc; push; jmp CONTINUE`, in clang's order entry, cold, hot.
    fn load_fast() -> Vec<Block<P>> {
        let mut entry = vec![0x90; 4];
        entry.extend(jcc(5));
        entry.extend(jmp());
        let mut cold = vec![0xcc; 8];
        cold.extend(jmp());
        let mut hot = vec![0x90; 3];
        hot.extend(jmp());
        vec![
            block(entry, vec![], vec![(6, 2), (11, 1)], 1 << 20),
            block(cold, vec![(9, "E")], vec![], 1 << 10),
            block(hot, vec![(4, "C")], vec![], 1 << 20),
        ]
    }

    #[test]
    fn unlikely_blocks_and_what_only_they_reach_are_cold() {
        let b = with_probs(load_fast());
        assert_eq!(classify(&b), vec![true, false, true]);
        // A frequent block reached only from a cold one is cold too.
        let mut b = load_fast();
        b[1].branches.push((9, 2));
        b[0].branches.truncate(1);
        b[0].branches[0].1 = 1;
        assert_eq!(classify(&with_probs(b)), vec![true, false, false]);
    }

    #[test]
    fn deep_plain_branches_and_loop_exits_stay_hot() {
        // 0 -> 1 -> 2 -> 3 -> 4 -> 5, each edge 50%: block 5 runs 1/16 as often as the entry,
        // but no edge is unlikely.
        let mut chain: Vec<Block<P>> = (0..5)
            .map(|i| block(jmp(), vec![], vec![(1, i + 1)], 1 << (20 - i)))
            .collect();
        chain[4].branches.clear();
        let c = with_probs(chain);
        assert_eq!(classify(&c), vec![true; 5]);
        // A loop (1 runs 32 times per entry) whose exit 2 has probability 1/32 but runs once.
        let mut l = vec![
            block(jmp(), vec![], vec![(1, 1)], 1 << 10),
            block(
                jcc(5).into_iter().chain(jmp()).collect(),
                vec![],
                vec![(2, 1), (7, 2)],
                1 << 15,
            ),
            block(jmp(), vec![(1, "C")], vec![], 1 << 10),
        ];
        l[1].probs = vec![
            (1, (PROB_ONE * 31 / 32) as u32),
            (2, (PROB_ONE / 32) as u32),
        ];
        l[0].probs = vec![(1, PROB_ONE as u32)];
        assert_eq!(classify(&l), vec![true; 3]);
    }

    /// RESUME's shape as clang emits it, with its estimates: entry `js slow; jmp 1`; 1 `je C;
    /// jmp slow` (the branch to a `jmp C` block folded into a conditional tail call, which
    /// leaves 1's one edge with probability 1/2001 and clang's frequency of `slow` as high as
    /// the entry's); slow `call; je C; jmp 3`; 3 `js E; jmp 4`; 4 `ret`.
    #[test]
    fn a_block_reached_only_by_unlikely_edges_is_cold_whatever_clangs_frequency() {
        const ONE: u64 = 1 << 54;
        let mut e = vec![0x90; 4];
        e.extend(jcc(8));
        e.extend(jmp());
        let mut b1 = vec![0x90; 3];
        b1.extend(jcc(4));
        b1.extend(jmp());
        let mut slow = vec![0xcc; 8];
        slow.extend(jcc(4));
        slow.extend(jmp());
        let mut b3 = jcc(8);
        b3.extend(jmp());
        let mut blocks = vec![
            block(e, vec![], vec![(6, 2), (11, 1)], ONE),
            block(b1, vec![(5, "C")], vec![(10, 2)], ONE - ONE / 2001),
            block(slow, vec![(10, "C")], vec![(15, 3)], ONE),
            block(b3, vec![(2, "E")], vec![(7, 4)], ONE),
            block(vec![0xc3], vec![], vec![], ONE),
        ];
        let unlikely = 1073205u32;
        blocks[0].probs = vec![(2, unlikely), (1, PROB_ONE as u32 - unlikely)];
        blocks[1].probs = vec![(2, unlikely)];
        blocks[2].probs = vec![(3, unlikely)];
        blocks[3].probs = vec![(4, 2021162781)];
        let f = frequencies(&blocks);
        assert!((f[0] - 1.0).abs() < 1e-6 && (f[1] - 2000.0 / 2001.0).abs() < 1e-6);
        assert!(f[2] < 1.0 / 1000.0, "{f:?}");
        assert_eq!(classify(&blocks), vec![true, true, false, false, false]);
        let s = assemble(&blocks, &classify(&blocks), |p| *p == "C").unwrap();
        // Hot: entry (4 + `js slow` rel32 across), 1 (3 + `jne slow` rel32 across; its `je C`
        // becomes the fall-through into the next instruction).
        assert_eq!(s.hot.code.len(), 4 + 6 + 3 + 6);
        assert!(s.falls_through);
        assert_eq!(s.hot.cross.len(), 2);
        // Cold: slow (8 + `je C`, falls into 3), 3 (`js E`, falls into 4), 4.
        assert_eq!(s.cold.code.len(), 8 + 6 + 6 + 1);
    }

    #[test]
    fn frequencies_follow_loops_and_branches() {
        // 0 -> 1 (50%) or 2 (50%); 1 -> 1 (75%) or 2 (25%).
        let mut b = vec![
            block(vec![], vec![], vec![], 1),
            block(vec![], vec![], vec![], 1),
            block(vec![], vec![], vec![], 1),
        ];
        let half = (PROB_ONE / 2) as u32;
        b[0].probs = vec![(1, half), (2, half)];
        b[1].probs = vec![(1, (PROB_ONE * 3 / 4) as u32), (2, (PROB_ONE / 4) as u32)];
        let f = frequencies(&b);
        assert!(
            (f[1] - 2.0).abs() < 1e-6 && (f[2] - 1.0).abs() < 1e-6,
            "{f:?}"
        );
    }

    #[test]
    fn the_hot_path_falls_through_and_branches_out_to_the_cold_part() {
        let b = with_probs(load_fast());
        let s = assemble(&b, &classify(&b), |p| *p == "C").unwrap();
        assert!(s.falls_through);
        // entry: 4 bytes, `je cold` (inverted jne, rel32 across parts); hot: 3 bytes, jump cut.
        assert_eq!(&s.hot.code[..6], &[0x90, 0x90, 0x90, 0x90, 0x0f, 0x84]);
        assert_eq!(s.hot.code.len(), 4 + 6 + 3);
        assert_eq!(
            s.hot.cross,
            vec![Cross {
                offset: 6,
                target: 0
            }]
        );
        assert!(s.hot.relocs.is_empty());
        assert_eq!(s.cold.code.len(), 13);
        assert_eq!(
            s.cold.relocs,
            vec![Rel {
                offset: 9,
                what: "E"
            }]
        );
    }

    #[test]
    fn branches_within_a_part_are_relaxed_and_jumps_to_the_next_block_dropped() {
        // entry: body, jcc -> 2, jmp -> 1; 1: body, jmp -> 3; 2: body, jmp -> 3; 3: jmp C.
        let mut e = vec![0x90; 2];
        e.extend(jcc(4));
        e.extend(jmp());
        let mut b1 = vec![0x90; 3];
        b1.extend(jmp());
        let mut b2 = vec![0x90; 1];
        b2.extend(jmp());
        let b3 = jmp();
        let blocks = vec![
            block(e, vec![], vec![(4, 2), (9, 1)], 100),
            block(b1, vec![], vec![(4, 3)], 50),
            block(b2, vec![], vec![(2, 3)], 50),
            block(b3, vec![(1, "C")], vec![], 100),
        ];
        let s = assemble(&blocks, &[true; 4], |p| *p == "C").unwrap();
        // entry: 2 + `je 2` short (jmp to 1 dropped); 1: 3 + `jmp 3` short; 2: 1 (falls into 3);
        // 3: cut.
        assert_eq!(
            s.hot.code,
            vec![0x90, 0x90, 0x74, 5, 0x90, 0x90, 0x90, 0xeb, 1, 0x90]
        );
        assert!(s.cold.code.is_empty() && s.hot.cross.is_empty());
    }

    #[test]
    fn a_block_that_only_jumps_is_bypassed_and_dropped() {
        // entry: body, jcc -> 1, jmp -> 2; 1: jmp E (a shared tail); 2: body, jmp C.
        let mut e = vec![0x90; 2];
        e.extend(jcc(4));
        e.extend(jmp());
        let mut b2 = vec![0x91; 3];
        b2.extend(jmp());
        let blocks = vec![
            block(e, vec![], vec![(4, 1), (9, 2)], 100),
            block(jmp(), vec![(1, "E")], vec![], 50),
            block(b2, vec![(4, "C")], vec![], 50),
        ];
        let s = assemble(&blocks, &[true; 3], |p| *p == "C").unwrap();
        // entry: 2 + `je E` (rel32, relocated), falls into 2 whose jump is cut.
        assert_eq!(
            s.hot.code,
            vec![0x90, 0x90, 0x0f, 0x84, 0, 0, 0, 0, 0x91, 0x91, 0x91]
        );
        assert_eq!(
            s.hot.relocs,
            vec![Rel {
                offset: 4,
                what: "E"
            }]
        );
        assert!(s.falls_through);
    }

    #[test]
    fn branches_to_the_next_instruction_end_the_hot_part() {
        // entry: jcc -> C, jmp -> 1; 1: body, jmp C.
        let mut e = jcc(4);
        e.extend(jmp());
        let mut b1 = vec![0x91; 3];
        b1.extend(jmp());
        let blocks = vec![
            block(e, vec![(2, "C")], vec![(7, 1)], 100),
            block(b1, vec![(4, "C")], vec![], 50),
        ];
        let s = assemble(&blocks, &[true; 2], |p| *p == "C").unwrap();
        assert_eq!(s.hot.code, vec![0x74, 3, 0x91, 0x91, 0x91]);
        assert!(s.hot.relocs.is_empty());
    }

    #[test]
    fn a_block_relocation_that_is_not_a_final_branch_is_refused() {
        // `lea rax, [rip+block]` then ret.
        let bytes = vec![0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xc3];
        let blocks = vec![block(bytes, vec![], vec![(3, 0)], 1)];
        let err = assemble(&blocks, &[true], |_| false).unwrap_err();
        assert!(err.contains("not the rel32 of a jmp/jcc"), "{err}");
    }

    #[test]
    fn relocations_after_a_shortened_branch_move_with_it() {
        // entry: jcc -> 1 (short), then jmp ERROR (reloc); 1: jmp C.
        let mut e = jcc(5);
        e.extend(jmp());
        let blocks = vec![
            block(e, vec![(7, "E")], vec![(2, 1)], 10),
            block(jmp(), vec![(1, "C")], vec![], 10),
        ];
        let s = assemble(&blocks, &[true, true], |p| *p == "C").unwrap();
        // jne 1 followed by jmp E: 1 is next, so `je E` and fall through.
        assert_eq!(s.hot.code, vec![0x0f, 0x84, 0, 0, 0, 0]);
        assert_eq!(
            s.hot.relocs,
            vec![Rel {
                offset: 2,
                what: "E"
            }]
        );
    }
}
