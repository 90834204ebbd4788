"""The result row: one schema, flat JSON, old rows refused."""
import pytest

from benchmarks.reporting.row import ROW_FIELDS, SCHEMA_VERSION, ResultRow, RowSchemaError


def test_round_trip_keeps_fields_and_metrics():
    row = ResultRow(kind='method', method='seed', student='resnet18 x0.125', hparams={'queue_size': 8},
                    metrics={'knn20_top1': 31.5, 'params_m': 0.18})
    d = row.to_dict()
    assert d['schema'] == SCHEMA_VERSION and d['knn20_top1'] == 31.5 and d['hparams'] == {'queue_size': 8}
    assert ResultRow.from_dict(d) == row
    assert list(d)[:len(ROW_FIELDS)] == ROW_FIELDS


def test_rows_of_another_schema_are_refused():
    with pytest.raises(RowSchemaError, match='schema'):
        ResultRow.from_dict({'kind': 'method', 'method': 'old'})


def test_kind_and_metric_names_are_checked():
    with pytest.raises(ValueError, match='kind'):
        ResultRow(kind='student', method='x')
    with pytest.raises(ValueError, match='collide'):
        ResultRow(kind='method', method='x', metrics={'seed': 1}).to_dict()
