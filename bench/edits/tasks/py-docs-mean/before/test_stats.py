import ast
import pathlib

import stats

ORIGINAL_BODY = '''
if not values:
    raise ValueError("mean of no values")
return sum(values) / len(values)
'''


def _mean_node():
    tree = ast.parse(pathlib.Path(stats.__file__).read_text())
    return next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "mean")


def test_mean_has_a_docstring():
    doc = ast.get_docstring(_mean_node())
    assert doc and len(doc.split()) >= 3


def test_code_is_unchanged():
    node = _mean_node()
    body = node.body[1:] if ast.get_docstring(node) else node.body
    assert [ast.dump(s) for s in body] == [ast.dump(s) for s in ast.parse(ORIGINAL_BODY).body]
    assert [a.arg for a in node.args.args] == ["values"]
    assert stats.mean([1, 2, 3]) == 2
    assert stats.spread([4, 1, 9]) == 8
