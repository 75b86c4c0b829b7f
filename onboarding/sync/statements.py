"""The few statements every push makes, as SQL built once per shape.

The ORM builds an UPDATE or INSERT anew on every call: a few hundred microseconds of
Python (resolving fields, compiling the WHERE) for a statement the database runs in far
less. A push makes three or four of them (write-ahead, the call's log row, the outcome),
which made the ORM most of the engine's own CPU (bench/portfolio.py, docs/operations.md).
So these are built once for each set of columns and sent with their values, converted by
the model's own fields as the ORM converts them. Everything else stays with the ORM.

A value may be `Now()` (the database's clock, in the ORM's own SQL for it); any other
expression (`Now() + interval`, F()) sends the statement through the ORM as before.
"""

from django.db import connection
from django.db.models import Model
from django.db.models.functions import Now
from django.db.models.sql import Query

_built: dict[tuple, str] = {}


def _now_sql(model) -> str:
    compiler = Query(model).get_compiler(connection=connection)
    sql, params = compiler.compile(Now())
    assert not params  # every backend renders its clock without parameters
    return sql


def _expression(value) -> bool:
    return hasattr(value, "resolve_expression")


def _quoted(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def _set_clause(model, values: dict) -> str:
    """`a = %s, b = <the clock>, …`: Now() in the SQL, every other value a parameter."""
    now = _now_sql(model)
    return ", ".join(
        f"{_quoted(model, name)} = " + (now if isinstance(value, Now) else "%s")
        for name, value in values.items()
    )


def _set_params(model, values: dict) -> list:
    return [
        model._meta.get_field(name).get_db_prep_save(value, connection)
        for name, value in values.items()
        if not isinstance(value, Now)
    ]


def update(model: type[Model], where: dict, **values) -> int:
    """`model.objects.filter(**where).update(**values)` (equality filters only): the
    number of rows changed."""
    if any(_expression(v) and not isinstance(v, Now) for v in values.values()):
        return model._default_manager.filter(**where).update(**values)
    shape = tuple((name, isinstance(value, Now)) for name, value in values.items())
    key = ("update", connection.vendor, model, tuple(where), shape)
    sql = _built.get(key)
    if sql is None:
        matches = " AND ".join(f"{_quoted(model, name)} = %s" for name in where)
        table = connection.ops.quote_name(model._meta.db_table)
        # Table and column names come from the model; every value is a parameter.
        sets = _set_clause(model, values)
        sql = _built[key] = f"UPDATE {table} SET {sets} WHERE {matches}"  # noqa: S608
    params = _set_params(model, values)
    for name, value in where.items():
        params.append(model._meta.get_field(name).get_db_prep_value(value, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def update_returning_ids(queryset, **values) -> list[int]:
    """`queryset.update(**values)` (plain values and Now() only) as one statement that
    also answers which rows it changed: the ORM's way is a SELECT of the ids, then the
    UPDATE, two round trips and two compilations."""
    model = queryset.model
    selected, where_params = queryset.order_by().values("pk").query.sql_with_params()
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(model._meta.pk.column)
    # Table and column names come from the model, the ids from the ORM's own SELECT.
    sql = (
        f"UPDATE {table} SET {_set_clause(model, values)} "  # noqa: S608
        f"WHERE {pk} IN ({selected}) RETURNING {pk}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_set_params(model, values), *where_params])
        return [row[0] for row in cursor.fetchall()]


def insert(obj: Model) -> None:
    """`obj.save(force_insert=True)` without what an outbox call's log row never needs
    (signals, the new id read back)."""
    model = type(obj)
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    key = ("insert", connection.vendor, model)
    sql = _built.get(key)
    if sql is None:
        table = connection.ops.quote_name(model._meta.db_table)
        columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        placeholders = ", ".join(["%s"] * len(fields))
        sql = _built[key] = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    params = [f.get_db_prep_save(f.pre_save(obj, add=True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
