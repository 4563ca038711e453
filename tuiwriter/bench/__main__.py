"""`python -m tuiwriter.bench`: speed figures for the completion engine, and the fits behind its
constants (`speed` and `fit` say what each measures)."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from tuiwriter.bench.fit import fit_memory, fit_trust, long_document, tune, window_sweep
from tuiwriter.bench.email import thread
from tuiwriter.bench.ppmd import compare
from tuiwriter.bench.mixfit import fit_mixer, mixer_bpc
from tuiwriter.bench.memory import CANDIDATES, build_rss, candidates, memory_texts
from tuiwriter.bench.speed import engine_latency, float_vs_int8, step_costs
from tuiwriter.lm.model import SIZES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuiwriter.bench", description="Speed figures for the completion engine, and the fits behind its constants.")
    parser.add_argument("--sizes", nargs="+", default=[s for s in SIZES if s != "tiny"], choices=sorted(SIZES))
    parser.add_argument("--steps", type=int, default=300, help="timed steps per predictor")
    parser.add_argument("--chars", type=int, default=800, help="characters the simulated writer types")
    parser.add_argument("--jumps", type=int, default=300, help="cursor jumps timed")
    parser.add_argument("--interval", type=int, default=16, help="engine checkpoint interval")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gru", action="store_true", help="also time the GRU step")
    parser.add_argument("--no-engine", action="store_true", help="only the step costs")
    parser.add_argument("--tune", nargs=2, metavar=("MODEL", "FILE"), help="sweep min_confidence instead")
    parser.add_argument("--fit-trust", nargs="+", metavar=("MODEL", "FILE"),
                        help="fit document_match.TRUST on the first --chars characters of each FILE instead")
    parser.add_argument("--fit-memory", nargs=2, metavar=("MODEL", "FILE"),
                        help="fit corpus_memory.TRUST: remember FILE's first 800,000 characters, predict --chars more")
    parser.add_argument("--window-sweep", nargs="+", metavar=("MODEL", "FILE"),
                        help="bits/char and ksr of the window rules in --rules (W/B ...) against reading from the "
                             "document start, on the first --chars characters of each FILE")
    parser.add_argument("--long-document", nargs=2, metavar=("MODEL", "FILE"),
                        help="open FILE, type its last --typed characters at its end, jump anywhere every --jump-every")
    parser.add_argument("--typed", type=int, default=2000)
    parser.add_argument("--jump-every", type=int, default=10)
    parser.add_argument("--rules", nargs="+", default=["64/16", "96/32", "128/32"], metavar="W/B")
    parser.add_argument("--memory-candidates", nargs=3, metavar=("BOOKS", "SHAKESPEARE", "HELD_OUT"),
                        help="compare corpus memory representations: the default model remembering --mb MB of "
                             "the BOOKS folder (HELD_OUT left out) and SHAKESPEARE's first 90 %%, evaluated on "
                             "--chars characters of HELD_OUT and of SHAKESPEARE's last 10 %%")
    parser.add_argument("--fit-background", nargs=3, metavar=("BOOKS", "SHAKESPEARE", "HELD_OUT"),
                        help="with --fit-memory: remember --mb MB of the BOOKS folder (as --memory-candidates, "
                             "without SHAKESPEARE) before FILE's characters")
    parser.add_argument("--memory-build", nargs=3, metavar=("BOOKS", "SHAKESPEARE", "HELD_OUT"),
                        help="time and peak resident memory of building a memory of --mb MB (the first size)")
    parser.add_argument("--mb", nargs="+", type=int, default=[4, 16, 64], help="memory sizes, MB")
    parser.add_argument("--candidates", nargs="+", default=list(CANDIDATES), choices=CANDIDATES)
    parser.add_argument("--no-document-match", action="store_true",
                        help="with --tune: the LSTM alone, without the document match")
    parser.add_argument("--fit-mixer", nargs=2, metavar=("BOOKS", "SHAKESPEARE90"),
                        help="fit the mixer's starting weights (prints mixer_init.FIT), --chars per text")
    parser.add_argument("--mixer-bpc", nargs=2, metavar=("MODEL", "FILE"),
                        help="bits/char of the mixer replayed on the first --chars characters of FILE, per --ablate row")
    parser.add_argument("--ablate", nargs="+", default=["lstm", "model", "+memory", "+document", "+learning", "+dynamic", "+side"])
    parser.add_argument("--ppmd", nargs=4, action="append", metavar=("MODEL", "TRAIN", "TEXT", "CHARS"),
                        help="tuiwriter eval beside PPMd-16 given TRAIN as context, on TEXT's first CHARS (repeatable)")
    parser.add_argument("--weights", nargs="+", metavar=("MODEL", "FILE"),
                        help="the engine with float and with int8 weights side by side, typing each FILE's first --chars")
    parser.add_argument("--email-thread", metavar="PATH", help="write the synthetic e-mail thread (latency text) to PATH")
    parser.add_argument("--thresholds", nargs="+", type=float, default=[0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5])
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.email_thread:
        Path(args.email_thread).write_text(thread(), encoding="utf-8")
        return 0
    if args.ppmd:
        compare(args.ppmd)
        return 0
    if args.weights:
        if len(args.weights) < 2:
            parser.error("--weights needs a model and at least one file")
        float_vs_int8(args.weights[0], args.weights[1:], args.chars)
        return 0
    if args.fit_mixer:
        fit_mixer(args.fit_mixer[0], args.fit_mixer[1], args.chars)
        return 0
    if args.mixer_bpc:
        mixer_bpc(args.mixer_bpc[0], args.mixer_bpc[1], args.chars, args.ablate)
        return 0
    if args.fit_trust:
        if len(args.fit_trust) < 2:
            parser.error("--fit-trust needs a model and at least one file")
        fit_trust(args.fit_trust[0], args.fit_trust[1:], args.chars)
        return 0
    if args.fit_memory:
        background = None
        if args.fit_background:
            books, play, held = (Path(p) for p in args.fit_background)
            background = memory_texts(books, play, held, args.mb[0] * 1_000_000)[0][:-1]
        fit_memory(args.fit_memory[0], args.fit_memory[1], args.chars, background=background)
        return 0
    if args.memory_candidates:
        books, play, held = (Path(p) for p in args.memory_candidates)
        candidates(books, play, held, args.mb, args.chars, args.candidates)
        return 0
    if args.memory_build:
        build_rss(*(Path(p) for p in args.memory_build), args.mb[0])
        return 0
    if args.long_document:
        long_document(args.long_document[0], args.long_document[1], args.typed, args.jump_every)
        return 0
    if args.window_sweep:
        if len(args.window_sweep) < 2:
            parser.error("--window-sweep needs a model and at least one file")
        rules = [(int(w), int(b)) for w, b in (r.split("/") for r in args.rules)]
        window_sweep(args.window_sweep[0], args.window_sweep[1:], args.chars, rules)
        return 0
    if args.tune:
        tune(args.tune[0], args.tune[1], args.chars, args.thresholds, not args.no_document_match)
        return 0
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    print("per-character step + next-char distribution, ms (p50 / p99)")
    for size in args.sizes:
        for cell in ("lstm", "gru") if args.gru else ("lstm",):
            row = step_costs(size, args.steps, cell)
            print(f"  {size:6} {cell:4} " + "   ".join(f"{k} {a:.3f} / {b:.3f}" for k, (a, b) in row.items()))
    if not args.no_engine:
        print(f"engine latency, worst case (every suggestion 40 chars), checkpoint interval {args.interval}, "
              "ms (p50 / p99)")
        for size in args.sizes:
            lat = engine_latency(size, args.chars, args.jumps, args.interval)
            print(f"  {size:6} " + "   ".join(f"{k} {lat[k + '_p50']:.2f} / {lat[k + '_p99']:.2f}"
                                             for k in ("keystroke", "full", "jump")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
