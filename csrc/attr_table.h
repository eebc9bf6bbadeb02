/* attr_table.h: one process-wide table of attribute cache entries, keyed by what an entry is
 * valid for: the owner type's version tag, the attribute name and the kind of access.
 *
 * A site's own cache (CpjitAttrCache, names.h) holds CPJIT_ATTR_WAYS entries. A site that sees
 * more types than that (a base-class method reading `self.children` on a dozen node classes,
 * `x.__class__` on anything) used to answer each miss with the generic lookup. The entries a
 * fill computes do not depend on the site: the same (type, name, access) always gets the same
 * entry, guarded the same way. So every fill also files its entry here, and a site whose ways
 * miss takes the entry for the owner's type from here into one of its ways (csrc/names.c),
 * which costs a hash probe instead of a type lookup and a keys probe.
 *
 * Soundness is the ways' own: an entry is valid only while its type has that tp_version_tag
 * (non-zero, reset by any change to the type or a base, never reused), and every per-instance
 * condition (inline values present, dict entry still holding the name, keys still lacking a
 * shadowing name) is re-checked on each use by the code that serves a way. The table holds a
 * reference to each name it files, so a name's address cannot be reused by another string while
 * an entry is keyed on it; `descr` is borrowed exactly as in a way (guarded by the version).
 * Callers hold the GIL. */
#ifndef CPJIT_ATTR_TABLE_H
#define CPJIT_ATTR_TABLE_H

#include "Python.h"
#include <stdint.h>

/* What a fill found for one owner type (one way's worth of CpjitAttrCache). kind ==
 * CPJIT_ATTR_NONE when the access cannot be cached. */
typedef struct {
    uint32_t version;
    uint16_t index;
    uint8_t kind;
    PyObject *descr;
} CpjitAttrEntry;

/* The accesses entries are filed under: their kinds and guards differ (a store's inline-values
 * entry needs a generic __setattr__, a load's a generic lookup). */
enum {
    CPJIT_ACCESS_LOAD = 0,   /* LOAD_ATTR */
    CPJIT_ACCESS_STORE = 1,  /* STORE_ATTR */
    CPJIT_ACCESS_METHOD = 2, /* LOAD_METHOD */
};

/* The table's slots (attr_table.c), visible so that the probe below inlines into the slow paths.
 * Four-way set associative: a key lives in one set of four slots. The table starts with
 * 2^CPJIT_ATTR_TABLE_FIRST_BITS sets and grows fourfold each time it holds twice as many entries
 * as sets, up to 2^CPJIT_ATTR_TABLE_SET_BITS: its keys spread over every page it has, and a
 * short program that files a few dozen entries touched 40 of the full table's 24 pages (a page
 * fault each, 1.5-2 us here). */
#define CPJIT_ATTR_TABLE_SET_BITS 10
#define CPJIT_ATTR_TABLE_FIRST_BITS 6
#define CPJIT_ATTR_TABLE_WAYS 4
typedef struct {
    uint32_t version;  /* 0: empty */
    uint16_t index;
    uint8_t kind;
    uint8_t access;
    PyObject *name;    /* a strong reference */
    PyObject *descr;   /* borrowed, guarded by the version as in a way */
} CpjitAttrSlot;
typedef CpjitAttrSlot CpjitAttrSet[CPJIT_ATTR_TABLE_WAYS];
extern CpjitAttrSet *cpjit_attr_sets; /* 2^cpjit_attr_set_bits sets */
extern uint32_t cpjit_attr_set_bits;

/* The set of (access, tag, name): one multiply over the bits that differ between keys. */
static inline CpjitAttrSlot *cpjit_attr_set(int access, uint32_t tag, PyObject *name)
{
    uint32_t key = tag ^ (uint32_t)((uintptr_t)name >> 4) ^ ((uint32_t)access << 30);
    return cpjit_attr_sets[(key * 0x9E3779B1u) >> (32 - cpjit_attr_set_bits)];
}

/* The slot of `set` (cpjit_attr_set's for the key) filed for (access, tag, name), or NULL. */
static inline CpjitAttrSlot *cpjit_attr_set_find(CpjitAttrSlot *set, int access, uint32_t tag,
                                                 PyObject *name)
{
    for (int i = 0; i < CPJIT_ATTR_TABLE_WAYS; i++) {
        if (set[i].version == tag && set[i].name == name && set[i].access == access) {
            return &set[i];
        }
    }
    return NULL;
}

/* Whether an entry is filed for (access, type version tag, name); 1 with it copied to *out,
 * else 0. `tag` must be non-zero. */
static inline int cpjit_attr_table_get(int access, uint32_t tag, PyObject *name,
                                       CpjitAttrEntry *out)
{
    CpjitAttrSlot *s = cpjit_attr_set_find(cpjit_attr_set(access, tag, name), access, tag, name);
    if (s == NULL) {
        return 0;
    }
    out->version = s->version;
    out->index = s->index;
    out->kind = s->kind;
    out->descr = s->descr;
    return 1;
}

/* File `e` (non-zero version; kind CPJIT_ATTR_NONE records that nothing can be cached) under
 * (access, e->version, name): in place of the key's old entry, else in an empty slot of its
 * set, else in place of the set's least recently filed one. */
void cpjit_attr_table_put(int access, PyObject *name, const CpjitAttrEntry *e);

#endif
