/**
 * The doctor's health scan applied while training runs, as a tap: a training that does not learn is named
 * while it happens, in the doctor's words (saturated or dead units with their share and layer, vanishing
 * gradients, tiny or non-finite values, the output-loss pairing, an accuracy at chance), each with what to
 * change.
 *
 * 1. The state of step `early` (a few dozen steps in: most failures show by then) and every state that ends
 *    an epoch are scanned: `scanProbe` (diagnostics/probe.ts) of the state's network on a small fixed probe.
 *    The network is read at once, so a borrowed state needs no snapshot.
 * 2. At epoch ends only, a probe accuracy no better than guessing is a finding too (early on, a slow start
 *    is no failure).
 * 3. Each finding, told by its code and layer, is passed to `onFinding` once per run, with the step and epoch
 *    of the scan that found it. A diverged state is not scanned (its report says more). A resumed run passes
 *    the findings told before it stopped (`told`, stored in its checkpoint): they are not told again.
 */
import type { AdviceSetup } from '../diagnostics/advice.js';
import type { Finding } from '../diagnostics/health.js';
import { chanceFinding, scanProbe, type Probe, type ProbeScan } from '../diagnostics/probe.js';
import type { Network } from '../nn/network.js';
import type { StateView } from '../optim/trainState.js';
import { emit, type Stage } from './stage.js';

/** A finding of the scan during training: when it was seen (step, 0-based epoch) and the probe's accuracy then. */
export type HealthFinding = Finding & { readonly step: number; readonly epoch: number; readonly probeAccuracy: number };

/** What `scanHealth` scans, with which configuration, when, and whom it tells. */
export interface ScanHealthOptions {
  /** The examples scanned every time (e.g. the first 256 of the training set). */
  readonly probe: Probe;
  /** The run's configuration: its loss and output, and the wording of the hints (advice.ts). */
  readonly setup: AdviceSetup;
  /** The step of the early scan. */
  readonly early: number;
  /** Called once for each new finding (its code and layer not told before in this run). */
  readonly onFinding: (f: HealthFinding) => void;
  /** The findings told before this part of the run (a resumed run's, from its checkpoint); default none. */
  readonly told?: readonly Finding[];
  /** The scan (default: `scanProbe(setup, probe, net)`); tests count or replace it. */
  readonly scan?: (net: Network) => ProbeScan;
}

/** What tells two findings apart for `scanHealth`: their code and layer. */
const findingKey = (f: Finding): string => `${f.code}/${f.layer ?? ''}`;

/** Whether `s` is scanned: the early step, or an epoch end; never a diverged state. */
export const scannedAt = (early: number, s: StateView): boolean => s.divergence === undefined && (s.step === early || s.endOfEpoch);

/**
 * Scans the network of the early step and of every epoch end on the probe and tells each new finding once.
 *
 * Laws:
 * - scanHealth is the identity on the stream: it emits every state it receives, unchanged and in order
 * - it scans exactly the states of the early step and those that end an epoch, and tells each finding (code and layer) once,
 *   none of those in `told`
 */
export const scanHealth = <S extends StateView>(o: ScanHealthOptions): Stage<S, S, Set<string>> => {
  const scan = o.scan ?? ((net: Network) => scanProbe(o.setup, o.probe, net));
  const classes = o.probe.targets.cols;
  const n = o.probe.labels.length;
  return {
    init: () => new Set<string>((o.told ?? []).map(findingKey)),
    step: (told, s) => {
      if (!scannedAt(o.early, s)) return emit(told, [s]);
      const found = scan(s.network);
      const atChance = s.endOfEpoch ? chanceFinding(found.scan.accuracy, classes, n, `a probe of ${n} training examples`) : undefined;
      for (const f of [...found.findings, ...(atChance ? [atChance] : [])]) {
        const key = findingKey(f);
        if (told.has(key)) continue;
        told.add(key);
        const { evidence: _e, ...finding } = f as Finding & { readonly evidence?: unknown };
        o.onFinding({ ...finding, step: s.step, epoch: s.epoch, probeAccuracy: found.scan.accuracy });
      }
      return emit(told, [s]);
    },
    flush: () => [],
  };
};
