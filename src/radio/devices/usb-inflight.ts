/**
 * How many bulk transfers a driver keeps in flight on one endpoint, and what it does when the USB backend
 * refuses a second one.
 *
 * libhackrf keeps 4 transfers of 256 KiB in flight so that the radio always has somewhere to put its
 * samples while the host handles a completed one. WebUSB as the `usb` package 3.x implements it (on nusb)
 * allows one: a second `transferIn` on an endpoint with one pending rejects at once with "transferIn error:
 * endpoint not found" (nusb's "endpoint already in use", renamed), before anything reaches the bus. A
 * browser's WebUSB queues them. The driver cannot know which it has, so it asks:
 *
 * RX: all N go out at once. A refused IN transfer carries no data, so the driver drops it, falls back to one
 * in flight (logged once, reported in stats, remembered by the device) and loses nothing.
 *
 * TX: a refused OUT transfer must be re-sent, before anything after it. So TX probes first:
 *
 *   probing ──(the 2nd transfer is still pending when the 1st completes, or completes)──> concurrent (N)
 *      └────(it is refused)──> single (1)
 *
 * While probing at most two transfers are in flight. A backend that allows one refuses the second when it
 * is submitted (`usb` 3.x: when it tries to open the endpoint the first one holds), long before the first
 * completes; so a second one still pending when the first has completed (and one more event-loop turn has
 * passed for a late refusal to arrive) was accepted. The probe therefore costs no gap in the stream. A
 * refusal after that (no known backend) still falls back to one and re-sends the refused chunks in their
 * order, after those already accepted.
 */

export type InFlightMode = 'probing' | 'concurrent' | 'single';

/** Whether a failed bulk transfer was refused for being one too many in flight (no data moved). */
export function isConcurrencyRefusal(e: unknown): boolean {
  const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  return /endpoint not found|endpoint already in use|already pending|resource busy|\bBusy\b/i.test(msg);
}

export interface InFlightStats {
  /** Transfers the driver keeps in flight now (1 after a fallback). */
  transfersInFlight: number;
  /** What was asked for (HackRfOptions.transfersInFlight). */
  transfersInFlightRequested: number;
  /** 'probing' until the backend has shown whether it queues transfers. */
  transfersInFlightMode: InFlightMode;
  /** Why the driver fell back to one transfer in flight, when it did. */
  transfersInFlightFallback?: string;
  /** Transfers the backend refused (each refusal is retried; none loses data). */
  transfersRefused: number;
}

export class InFlightPolicy {
  mode: InFlightMode;
  fallbackReason: string | undefined;
  refused = 0;

  constructor(readonly requested: number, private readonly onFallback: (reason: string) => void) {
    this.mode = requested > 1 ? 'probing' : 'single';
  }

  /** RX: how many IN transfers may be in flight now. */
  rxLimit(): number {
    return this.mode === 'single' ? 1 : this.requested;
  }

  /** TX: how many OUT transfers may be in flight now; while probing, none more until the probe is known. */
  txLimit(probePending: boolean): number {
    switch (this.mode) {
      case 'single':
        return 1;
      case 'concurrent':
        return this.requested;
      case 'probing':
        return probePending ? 0 : 2;
    }
  }

  /** A transfer submitted while another was pending was accepted: the backend queues transfers. */
  confirm(): void {
    if (this.mode === 'probing') this.mode = 'concurrent';
  }

  /** The backend refused a transfer because another was pending: one in flight from now on. */
  refuse(e: unknown): void {
    this.refused++;
    if (this.mode === 'single') return;
    this.mode = 'single';
    const msg = e instanceof Error ? e.message : String(e);
    this.fallbackReason = `the USB backend refused a second transfer in flight ("${msg}"); using 1 instead of ${this.requested}`;
    this.onFallback(this.fallbackReason);
  }

  get inFlight(): number {
    return this.mode === 'concurrent' ? this.requested : this.mode === 'single' ? 1 : Math.min(2, this.requested);
  }

  stats(): InFlightStats {
    return {
      transfersInFlight: this.inFlight,
      transfersInFlightRequested: this.requested,
      transfersInFlightMode: this.mode,
      ...(this.fallbackReason ? { transfersInFlightFallback: this.fallbackReason } : {}),
      transfersRefused: this.refused,
    };
  }
}
