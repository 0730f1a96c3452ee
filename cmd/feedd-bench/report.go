package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeText prints the report for people.
func (r report) writeText(w io.Writer) {
	fmt.Fprintf(w, "load:    %d feeds of at most %d articles = %d articles (%s), SaudiNewsNet %s\n",
		r.Load.Feeds, r.Load.PerFeed, r.Load.Articles, mib(r.Load.Bytes), strings.Join(r.Load.Days, ", "))
	fmt.Fprintf(w, "runs:    %d of each, interleaved, %d fetches at once\n", r.Load.Runs, r.Load.Concurrency)
	fmt.Fprintf(w, "machine: %d CPUs (%s), %s, %s %s\n",
		r.Machine.CPUs, r.Machine.CPUModel, mib(r.Machine.MemBytes), r.Machine.GoVersion, r.Machine.OS)
	fmt.Fprintf(w, "noise:   other processes used %.1f of %.1f CPU-seconds over the runs; load %s at start, %s at end\n\n",
		r.Noise.OtherCPUSeconds, float64(r.Machine.CPUs)*r.Noise.WindowSeconds, r.Noise.LoadStart, r.Noise.LoadEnd)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tmedian\tarticles/s\tpeak memory\tmedian CPU\truns (s)")
	sides := []side{r.Floor, r.Feedd}
	if r.Baseline != nil {
		sides = append(sides, *r.Baseline)
	}
	for _, s := range sides {
		runs := make([]string, len(s.Runs))
		for i, t := range s.Runs {
			runs[i] = fmt.Sprintf("%.3f", t.Seconds)
		}
		fmt.Fprintf(tw, "%s\t%.3f s\t%.0f\t%s\t%.2f s\t%s\n", shortName(s.Name), s.MedianSeconds, s.ArticlesPerSecond,
			mib(s.PeakBytes), s.MedianCPUSeconds, strings.Join(runs, " "))
	}
	tw.Flush()

	verdict := "within"
	if r.Ratio > r.RatioLimit {
		verdict = "NOT within"
	}
	fmt.Fprintf(w, "\nratio feedd/floor: %.2f (%s the bound of %.1f)", r.Ratio, verdict, r.RatioLimit)
	if r.Floor.MedianCPUSeconds > 0 {
		fmt.Fprintf(w, "; in CPU: %.2f", r.Feedd.MedianCPUSeconds/r.Floor.MedianCPUSeconds)
	}
	fmt.Fprintf(w, "\n")
	if b := r.Baseline; b != nil {
		fmt.Fprintf(w, "ratio baseline/floor: %.2f", r.BaselineRatio)
		if r.Floor.MedianCPUSeconds > 0 {
			fmt.Fprintf(w, "; in CPU: %.2f", b.MedianCPUSeconds/r.Floor.MedianCPUSeconds)
		}
		fmt.Fprintf(w, "\n")
	}
	fmt.Fprintf(w, "\n")
	fmt.Fprintf(w, "floor peak: %s\nfloor CPU:  %s\nfeedd peak: %s\nfeedd CPU:  %s\n",
		r.Floor.PeakMeasure, r.Floor.CPUMeasure, r.Feedd.PeakMeasure, r.Feedd.CPUMeasure)
	s := r.Summary
	fmt.Fprintf(w, "feedd summary (last run): feeds %d, fetched %d, failed %d, items %d, new %d, duplicates %d, repeats %d, published %d, pending %d\n",
		s.Feeds, s.Fetched, s.Failed, s.Items, s.New, s.Duplicates, s.Repeats, s.Published, s.Pending)
	if r.PerfFile != "" {
		fmt.Fprintf(w, "perf profile of one more feedd run: %s (perf report -i %s --no-children)\n", r.PerfFile, r.PerfFile)
	}
}

func shortName(name string) string {
	if n, _, ok := strings.Cut(name, ":"); ok {
		return n
	}
	return name
}

// mib formats a byte count in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
