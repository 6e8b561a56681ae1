"""`tandem seed`: clear refusals that write nothing; a seeded tenant is not seeded twice by accident."""

from __future__ import annotations

from tests.migrations.conftest import MakeDatabase, RunCli
from tests.migrations.test_tenants_cli import _one


async def test_seed_refuses_clearly_and_writes_nothing(fresh_database: MakeDatabase, tandem: RunCli, capsys) -> None:
    fresh = await fresh_database()
    assert await tandem(fresh, "seed", "--tenant", "nobody-here") == 1
    assert "no tenant 'nobody-here'" in capsys.readouterr().err

    assert await tandem(fresh, "tenants", "create", "ownerless") == 0
    capsys.readouterr()
    assert await tandem(fresh, "seed", "--tenant", "ownerless") == 1
    assert "has no owner" in capsys.readouterr().err

    assert await tandem(fresh, "tenants", "create", "seeded-co", "--owner-email", "boss@seeded.example",
                        "--owner-password", "Correct-Horse-Battery-9") == 0
    assert await tandem(fresh, "seed", "--tenant", "seeded-co", "--size", "tiny") == 0
    assert "seeded seeded-co: 12 accounts" in capsys.readouterr().out
    schema = await _one(fresh, "SELECT schema_name FROM shared.tenants WHERE slug = 'seeded-co'")
    accounts = await _one(fresh, f'SELECT count(*) FROM "{schema}".accounts')
    assert accounts == 12

    assert await tandem(fresh, "seed", "--tenant", "seeded-co", "--size", "tiny") == 1
    assert "already has 12 accounts; use --force" in capsys.readouterr().err
    assert await _one(fresh, f'SELECT count(*) FROM "{schema}".accounts') == accounts


async def test_large_seed_writes_in_bulk_and_refuses_bad_scales_or_a_reused_seed(
        fresh_database: MakeDatabase, tandem: RunCli, capsys) -> None:
    fresh = await fresh_database()
    assert await tandem(fresh, "tenants", "create", "big-co", "--owner-email", "boss@big.example",
                        "--owner-password", "Correct-Horse-Battery-9") == 0
    assert await tandem(fresh, "seed", "--tenant", "big-co", "--size", "large", "--scale", "0") == 1
    assert "scale must be in (0, 5]" in capsys.readouterr().err
    assert await tandem(fresh, "seed", "--tenant", "big-co", "--size", "large", "--scale", "0.0005") == 0
    out = capsys.readouterr()
    assert "seeded big-co: 100 accounts" in out.out
    assert "contacts: 500 rows" in out.err  # progress per batch
    schema = await _one(fresh, "SELECT schema_name FROM shared.tenants WHERE slug = 'big-co'")
    assert await _one(fresh, f'SELECT count(*) FROM "{schema}".contacts') == 500
    assert await tandem(fresh, "seed", "--tenant", "big-co", "--size", "large", "--scale", "0.0005",
                        "--force") == 1
    assert "already seeded in bulk with --seed 7" in capsys.readouterr().err
    assert await _one(fresh, f'SELECT count(*) FROM "{schema}".contacts') == 500
