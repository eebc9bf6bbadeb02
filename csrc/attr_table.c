/* attr_table.c: the process-wide attribute entry table (see attr_table.h). Direct-mapped, so it
 * never grows and a probe is one compare of three keys; 4096 slots (96 KiB) cover the few
 * hundred to a thousand (type, name) pairs the polymorphic sites of the real programs in
 * benches/real see. */
#include "attr_table.h"
#include "cpjit_rt.h"

CpjitAttrSlot cpjit_attr_table[1u << CPJIT_ATTR_TABLE_BITS];

void cpjit_attr_table_put(int access, PyObject *name, const CpjitAttrEntry *e)
{
    CpjitAttrSlot *s = cpjit_attr_slot(access, e->version, name);
    PyObject *old = s->name;
    s->version = e->version;
    s->index = e->index;
    s->kind = e->kind;
    s->access = (uint8_t)access;
    s->name = Py_NewRef(name);
    s->descr = e->descr;
    cpjit_stats.attr_table_filed++;
    /* Released last, the slot already consistent. */
    Py_XDECREF(old);
}
