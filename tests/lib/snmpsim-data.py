#!/usr/bin/env python3
"""Write snmpsim data for many fake printers (t71, make bench snmp).

  snmpsim-data.py DIR N [KIND...]

Printer i (0-based) is served by the snmpsimd endpoint whose transport ID
is 1.3.6.1.6.1.1.i (snmpsimd --v2c-arch: the community "public" and the
endpoint select DIR/public/1.3.6.1.6.1.1.i.snmprec). KIND names printer
i's data (the list repeats when shorter than N): normal, twooctet (a
2-octet error state: jammed, inputTrayMissing), nosupplies (no supplies
table), somelevel (a supply at level -3 "some remaining"), latin1 (text in
ISO 8859-1), delay (sysDescr 700 ms late: snmpsim's delay variation, which
stalls the whole snmpsimd process meanwhile, so only one value has it).
"""
import os
import sys

MIB2 = "1.3.6.1.2.1"


def oid_key(line):
    return [int(x) for x in line.split("|")[0].split(".")]


def printer(i, kind):
    rows = [
        (MIB2 + ".1.1.0", "4", "Fake printer %d (%s)" % (i, kind)),
        (MIB2 + ".1.3.0", "67", str(1000 + i)),
        (MIB2 + ".25.3.2.1.5.1", "2", "2"),
        (MIB2 + ".25.3.5.1.1.1", "2", "3"),
        (MIB2 + ".25.3.5.1.2.1", "4x", "00"),
        (MIB2 + ".43.10.2.1.4.1.1", "65", str(10000 + i)),
        (MIB2 + ".43.5.1.1.17.1", "4", "SN%05d" % i),
    ]
    level = "-3" if kind == "somelevel" else str(100 + i % 800)
    if kind != "nosupplies":
        for idx, desc, cls, typ, unit, mx, lv in (
            (1, "Black Toner", 3, 3, 13, 1000, level),
            (2, "Waste Toner", 4, 4, 19, 100, "10"),
        ):
            rows += [
                (MIB2 + ".43.11.1.1.4.1.%d" % idx, "2", str(cls)),
                (MIB2 + ".43.11.1.1.5.1.%d" % idx, "2", str(typ)),
                (MIB2 + ".43.11.1.1.6.1.%d" % idx, "4", desc),
                (MIB2 + ".43.11.1.1.7.1.%d" % idx, "2", str(unit)),
                (MIB2 + ".43.11.1.1.8.1.%d" % idx, "2", str(mx)),
                (MIB2 + ".43.11.1.1.9.1.%d" % idx, "2", lv),
            ]
    if kind == "twooctet":
        rows = [r if r[0] != MIB2 + ".25.3.5.1.2.1" else (r[0], "4x", "0480") for r in rows]
        rows.append((MIB2 + ".43.18.1.1.2.1.1", "2", "3"))
        rows.append((MIB2 + ".43.18.1.1.7.1.1", "2", "8"))
        rows.append((MIB2 + ".43.18.1.1.8.1.1", "4", "Paper jam"))
    if kind == "latin1":
        # "Bac \xe0 toner" in ISO 8859-1, as hex
        text = "Bac \xe0 toner".encode("latin-1").hex()
        rows = [r if r[0] != MIB2 + ".43.11.1.1.6.1.1" else (r[0], "4x", text) for r in rows]
    lines = []
    for o, tag, val in rows:
        if kind == "delay" and o == MIB2 + ".1.1.0":
            lines.append("%s|%s:delay|value=%s,wait=700" % (o, tag, val))
        else:
            lines.append("%s|%s|%s" % (o, tag, val))
    lines.sort(key=oid_key)
    return "\n".join(lines) + "\n"


def main():
    d, n, kinds = sys.argv[1], int(sys.argv[2]), sys.argv[3:] or ["normal"]
    os.makedirs(os.path.join(d, "public"), exist_ok=True)
    # the community must exist on its own for --v2c-arch to look further
    with open(os.path.join(d, "public.snmprec"), "w") as f:
        f.write(printer(0, "normal"))
    for i in range(n):
        with open(os.path.join(d, "public", "1.3.6.1.6.1.1.%d.snmprec" % i), "w") as f:
            f.write(printer(i, kinds[i % len(kinds)]))


if __name__ == "__main__":
    main()
