//! The Grafana dashboard and the Prometheus alert rules against a real Prometheus and promtool.
