/* attr_table.c: the process-wide attribute entry table (see attr_table.h). At most 1024 sets of
 * four slots (96 KiB): the few hundred to 1,500 (type, name) pairs the polymorphic sites of the
 * real programs in benches/real see fit with room to spare. Direct-mapped, two hot keys sharing
 * a slot evicted each other (docutils refiled ~170k entries for ~1,500 keys). A set is kept in
 * filing order, newest first, so a full set replaces the entry filed longest ago. It starts at 64
 * sets and grows (attr_table.h). */
#include "cpjit_rt.h" /* first: it sets Py_BUILD_CORE before Python.h */
#include "attr_table.h"

static CpjitAttrSet first_sets[1u << CPJIT_ATTR_TABLE_FIRST_BITS];
CpjitAttrSet *cpjit_attr_sets = first_sets;
uint32_t cpjit_attr_set_bits = CPJIT_ATTR_TABLE_FIRST_BITS;
static uint32_t entries; /* slots in use */

static void file_new(int access, PyObject *name, const CpjitAttrEntry *e, PyObject *owned_name);

/* Four times the sets, the entries re-filed oldest first (so each set keeps its newest first);
 * on no memory the table stays as it is. */
static void grow(void)
{
    uint32_t old_bits = cpjit_attr_set_bits, bits = old_bits + 2;
    CpjitAttrSet *old = cpjit_attr_sets;
    CpjitAttrSet *sets = PyMem_RawCalloc((size_t)1 << bits, sizeof(CpjitAttrSet));
    if (sets == NULL) {
        return;
    }
    cpjit_attr_sets = sets;
    cpjit_attr_set_bits = bits;
    entries = 0;
    for (int way = CPJIT_ATTR_TABLE_WAYS - 1; way >= 0; way--) {
        for (uint32_t i = 0; i < (1u << old_bits); i++) {
            CpjitAttrSlot *s = &old[i][way];
            if (s->version != 0) {
                CpjitAttrEntry e = {.version = s->version, .index = s->index, .kind = s->kind,
                                    .descr = s->descr};
                file_new(s->access, s->name, &e, s->name); /* its reference moves */
            }
        }
    }
    if (old != first_sets) {
        PyMem_RawFree(old);
    }
}

/* File a key not in the table at the front of its set; `owned_name` is the reference the new
 * slot takes over (NULL: take a new one). */
static void file_new(int access, PyObject *name, const CpjitAttrEntry *e, PyObject *owned_name)
{
    CpjitAttrSlot *set = cpjit_attr_set(access, e->version, name);
    PyObject *old = set[CPJIT_ATTR_TABLE_WAYS - 1].name;
    if (set[CPJIT_ATTR_TABLE_WAYS - 1].version == 0) {
        entries++;
    }
    memmove(&set[1], &set[0], sizeof(CpjitAttrSlot) * (CPJIT_ATTR_TABLE_WAYS - 1));
    set[0].version = e->version;
    set[0].index = e->index;
    set[0].kind = e->kind;
    set[0].access = (uint8_t)access;
    set[0].name = owned_name != NULL ? owned_name : Py_NewRef(name);
    set[0].descr = e->descr;
    /* Released last, the set already consistent. */
    Py_XDECREF(old);
}

void cpjit_attr_table_put(int access, PyObject *name, const CpjitAttrEntry *e)
{
    CpjitAttrSlot *set = cpjit_attr_set(access, e->version, name);
    CpjitAttrSlot *s = cpjit_attr_set_find(set, access, e->version, name);
    if (s != NULL) {
        /* The key's entry, rewritten in place (the name is already held). */
        s->index = e->index;
        s->kind = e->kind;
        s->descr = e->descr;
        return;
    }
    file_new(access, name, e, NULL);
    cpjit_stats.attr_table_filed++;
    if (entries > (2u << cpjit_attr_set_bits) && cpjit_attr_set_bits < CPJIT_ATTR_TABLE_SET_BITS) {
        grow();
    }
}
