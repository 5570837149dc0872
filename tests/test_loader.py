"""Bad derivation files get one clear line naming the file, the step and (for expressions) the column."""

import pytest

from derivation.loader import LoadError, builtin_names, load, loads

from conftest import ARITIES, GLOROT_TEXT, replace_field


def error_for(text, path="my.toml"):
    with pytest.raises(LoadError) as info:
        loads(text, path, ARITIES)
    message = str(info.value)
    assert "\n" not in message and message.startswith(path)
    return message


def test_builtins_are_listed_and_load():
    assert "glorot" in builtin_names()
    assert load("glorot", ARITIES).title.startswith("Xavier")


def test_unknown_rule():
    assert "step F3: unknown rule 'product varience'" in error_for(
        replace_field(GLOROT_TEXT, "F3", "rule", "product varience"))


def test_unknown_symbol_names_the_column():
    message = error_for(replace_field(GLOROT_TEXT, "F4", "claim", "Sum(Var[q[i, j]], (j, 1, n[i]))"))
    assert "step F4: claim, column 9: unknown name 'q'" in message


def test_syntax_error_names_the_column():
    message = error_for(replace_field(GLOROT_TEXT, "F6", "claim", "Var[W[i]] == 1/"))
    assert "step F6: claim, column" in message and "syntax" in message


def test_missing_field():
    text = GLOROT_TEXT.replace('claim = "a**2/3"\n', "")
    assert "step D3: missing field 'claim'" in error_for(text)


def test_unknown_step_referenced():
    text = GLOROT_TEXT.replace('from = ["F6", "B6"]', 'from = ["F6", "B9"]')
    assert "step D1: 'from' names unknown step 'B9'" in error_for(text)


def test_unknown_assumption_cited():
    text = GLOROT_TEXT.replace('uses = ["A3"]', 'uses = ["A7"]', 1)
    assert "uses unknown assumption 'A7'" in error_for(text)


def test_wrong_number_of_inputs():
    text = GLOROT_TEXT.replace('from = ["F6", "B6"]', 'from = ["F6"]')
    assert "step D1: rule 'harmonic averaging' takes 2 input expression(s), the step gives 1" in error_for(text)


def test_duplicate_step_id():
    text = GLOROT_TEXT.replace('id = "F2"', 'id = "F1"')
    assert "step F1: duplicate step id" in error_for(text)


def test_unknown_field_catches_typos():
    text = GLOROT_TEXT.replace('claim = "a**2/3"', 'claims = "a**2/3"')
    assert "unknown field 'claims'" in error_for(text)


def test_not_toml_at_all():
    assert "not valid TOML" in error_for("this is { not toml")
    assert "missing field 'title'" in error_for("x = 1\n".replace("x", "summary"))


def test_not_a_file_and_not_a_builtin(tmp_path):
    with pytest.raises(LoadError, match="no such file"):
        load(str(tmp_path / "missing.toml"), ARITIES)


def test_binary_file(tmp_path):
    path = tmp_path / "binary.toml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(LoadError, match="not UTF-8"):
        load(str(path), ARITIES)


def test_hostile_claim_in_a_file_is_a_load_error(tmp_path):
    marker = tmp_path / "pwned"
    text = replace_field(GLOROT_TEXT, "F2", "claim", f"__import__('os').system('touch {marker}')")
    assert "step F2: claim, column" in error_for(text)
    assert not marker.exists()


def test_reserved_symbol_names():
    text = GLOROT_TEXT.replace('a = { kind = "positive"', 'Var = { kind = "positive"')
    assert "reserved" in error_for(text)
