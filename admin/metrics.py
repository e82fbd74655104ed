"""Prometheus metrics, read from the core at scrape time so the hot path pays nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from storage.native import status as native_status

if TYPE_CHECKING:
    from smsc.core import Smsc


class SmscCollector(Collector):
    def __init__(self, smsc: Smsc, pdu_counters: dict[str, dict[str, int]]) -> None:
        self.smsc = smsc
        self.pdu_counters = pdu_counters  # protocol -> "in:submit_sm" -> count

    def collect(self) -> Iterator[object]:
        s = self.smsc
        binds = GaugeMetricFamily("smsc_binds", "Live binds", labels=["protocol", "account"])
        counts: dict[tuple[str, str], int] = {}
        for b in s.binds.all():
            counts[(b.protocol, b.account)] = counts.get((b.protocol, b.account), 0) + 1
        for (proto, acc), n in counts.items():
            binds.add_metric([proto, acc], n)
        yield binds
        yield GaugeMetricFamily(
            "smsc_native",
            "1 when the hot-path modules run compiled (mypyc), 0 when from source",
            value=1 if native_status()["compiled"] else 0,
        )
        yield GaugeMetricFamily(
            "smsc_outbox_depth", "Receipts and MO waiting", value=s.outbox.depth()
        )
        yield GaugeMetricFamily(
            "smsc_outbox_inflight", "Sent, not yet acknowledged", value=s.outbox.inflight
        )
        yield GaugeMetricFamily(
            "smsc_receipts_pending", "Receipts not yet due", value=len(s.receipts)
        )
        yield GaugeMetricFamily(
            "smsc_writer_queue", "Writes waiting for commit", value=s.writer.pending
        )
        yield CounterMetricFamily("smsc_commits", "Group commits", value=s.writer.commits)
        yield CounterMetricFamily(
            "smsc_commits_on_loop",
            "Group commits made on the event loop (SQLite, database free)",
            value=s.writer.loop_commits,
        )
        yield CounterMetricFamily(
            "smsc_commits_in_process",
            "Group commits made by the commit process (SQLite, storage.commit_process)",
            value=s.writer.process_commits,
        )
        yield CounterMetricFamily(
            "smsc_commit_process_restarts",
            "Times the commit process died and was replaced",
            value=s.writer.process_restarts,
        )
        yield CounterMetricFamily("smsc_rows_written", "Rows written", value=s.writer.rows)
        times = HistogramMetricFamily(
            "smsc_commit_seconds",
            "Time to execute and commit one batch, by where it was committed (loop, process, "
            "thread); with synchronous=FULL mostly the fsync",
            labels=["path"],
        )
        for path, hist in s.writer.commit_times.items():
            times.add_metric([path], hist.cumulative(), hist.total)
        yield times
        yield CounterMetricFamily("smsc_messages_submitted", "MT parts stored", value=s.submitted)
        yield CounterMetricFamily(
            "smsc_receipts_generated", "Receipts generated", value=s.receipts.generated
        )
        yield CounterMetricFamily(
            "smsc_outbox_delivered", "Outbox items acknowledged", value=s.outbox.delivered
        )
        yield CounterMetricFamily(
            "smsc_mo_unrouted", "MO matching no service code", value=s.unrouted_mo
        )
        yield CounterMetricFamily(
            "smsc_outbox_gave_up", "Pushes given up after the last retry", value=s.outbox.gave_up
        )
        http = CounterMetricFamily(
            "smsc_http_requests",
            "Vendor API requests by route and HTTP status",
            labels=["route", "status"],
        )
        for (route, status), n in list(s.sends.http_requests.items()):
            http.add_metric([route, str(status)], n)
        yield http
        sends = CounterMetricFamily(
            "smsc_vendor_sends",
            "Vendor API sends by vendor and result (accepted or the refusal reason)",
            labels=["vendor", "result"],
        )
        for (vendor, result), n in list(s.sends.outcomes.items()):
            sends.add_metric([vendor, result], n)
        yield sends
        pdus = CounterMetricFamily(
            "smsc_pdus",
            "PDUs by protocol, direction and type",
            labels=["protocol", "direction", "type"],
        )
        for proto, table in self.pdu_counters.items():
            for key, n in list(table.items()):
                direction, _, kind = key.partition(":")
                pdus.add_metric([proto, direction, kind], n)
        yield pdus


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
