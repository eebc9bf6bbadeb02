/* attr_table.c: the process-wide attribute entry table (see attr_table.h). 1024 sets of four
 * slots (96 KiB): the few hundred to 1,500 (type, name) pairs the polymorphic sites of the real
 * programs in benches/real see fit with room to spare. Direct-mapped, two hot keys sharing a slot
 * evicted each other (docutils refiled ~170k entries for ~1,500 keys). A set is kept in filing
 * order, newest first, so a full set replaces the entry filed longest ago. */
#include "cpjit_rt.h" /* first: it sets Py_BUILD_CORE before Python.h */
#include "attr_table.h"

CpjitAttrSlot cpjit_attr_table[1u << CPJIT_ATTR_TABLE_SET_BITS][CPJIT_ATTR_TABLE_WAYS];

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
    PyObject *old = set[CPJIT_ATTR_TABLE_WAYS - 1].name;
    memmove(&set[1], &set[0], sizeof(CpjitAttrSlot) * (CPJIT_ATTR_TABLE_WAYS - 1));
    set[0].version = e->version;
    set[0].index = e->index;
    set[0].kind = e->kind;
    set[0].access = (uint8_t)access;
    set[0].name = Py_NewRef(name);
    set[0].descr = e->descr;
    cpjit_stats.attr_table_filed++;
    /* Released last, the set already consistent. */
    Py_XDECREF(old);
}
