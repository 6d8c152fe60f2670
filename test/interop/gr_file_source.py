"""Read a SigMF data file as raw samples with GNU Radio's file_source and write what GNU Radio sees as cf32.

usage: python3 gr_file_source.py DATA_FILE DATATYPE OUT.cf32     (DATATYPE: cf32_le or ci8)
cf32_le is read as gr_complex items; ci8 as bytes through interleaved_char_to_complex with the SigMF scale
(code / 128). Used by test/interop/gnuradio.test.ts.
"""
import sys

from gnuradio import blocks, gr


def main() -> None:
    data, datatype, out = sys.argv[1], sys.argv[2], sys.argv[3]
    tb = gr.top_block()
    sink = blocks.file_sink(gr.sizeof_gr_complex, out)
    if datatype == "cf32_le":
        src = blocks.file_source(gr.sizeof_gr_complex, data, False)
        tb.connect(src, sink)
    elif datatype == "ci8":
        src = blocks.file_source(gr.sizeof_char, data, False)
        conv = blocks.interleaved_char_to_complex(False, 128.0)
        tb.connect(src, conv, sink)
    else:
        raise SystemExit(f"unsupported datatype {datatype}")
    tb.run()


if __name__ == "__main__":
    main()
