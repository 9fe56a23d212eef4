"""Developer tooling, not installed with qa_service: the benchmark (`bench`, `storebench`), the load driver
(`loadgen`, shared with `eval/loadtest.py`), a local server subprocess (`devserver`, for the benchmark, the load
test and end-to-end tests) and Milvus Lite as a server process (`milvus_lite`, for tests and benchmarks).

Run from a checkout: `make bench` (`python -m devtools.bench`), `make loadtest`.
"""
