"""Receive from an rtl_tcp server with GNU Radio's osmosdr source (gr-osmosdr, Debian) into a cf32 file.

usage: python3 gr_osmosdr_rx.py PORT SAMPLES OUT.cf32 SAMPLE_RATE
Headless: no GUI blocks. Used by test/interop/gnuradio.test.ts as an independent rtl_tcp client.
"""
import sys

import osmosdr
from gnuradio import blocks, gr


def main() -> None:
    port, samples, out, rate = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    tb = gr.top_block()
    src = osmosdr.source(args=f"numchan=1 rtl_tcp=127.0.0.1:{port}")
    src.set_sample_rate(rate)
    src.set_center_freq(100e6)
    src.set_gain_mode(False)
    src.set_gain(0)
    head = blocks.head(gr.sizeof_gr_complex, samples)
    sink = blocks.file_sink(gr.sizeof_gr_complex, out)
    tb.connect(src, head, sink)
    tb.run()


if __name__ == "__main__":
    main()
