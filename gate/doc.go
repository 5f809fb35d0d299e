// Package gate compares each service's inferred OpenAPI document with its
// baseline, classifies every change (oasdiff's checks, plus renames,
// coverage and sample confidence from specgate's counts), applies the
// policy and gives a verdict and a Report.
package gate
