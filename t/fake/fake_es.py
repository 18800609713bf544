#!/usr/bin/env python3
# fake_es.py -- an Elasticsearch / OpenSearch look-alike for 411's tests and demo.
#
#   fake_es.py --port 0 --flavour es7 [--demo] [--portfile F] [--exit-with-parent]
#
# Prints "listening 127.0.0.1:PORT" once bound (127.0.0.1 only).  Answers GET /,
# _search (query, range, sort, search_after, from/size, _source filtering,
# track_total_hits), _count, scroll, point in time (Elasticsearch _pit and
# OpenSearch _search/point_in_time) with the response shapes of the flavour
# (docs/WIRE.md section 1).  The /_fake/... control API loads documents,
# adds virtual (generated on demand, streamed) indexes, injects faults and
# returns the log of requests.  Python 3 standard library only.

import argparse
import base64
import datetime
import fnmatch
import heapq
import itertools
import json
import os
import random
import re
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_WINDOW = 10000
DEFAULT_TTH = 10000
LONG_MAX = 9223372036854775807
LONG_MIN = -9223372036854775808

FLAVOURS = {
    'es6': {'number': '6.8.23', 'lucene': '7.7.3', 'dist': None,
            'build_hash': '4f67856', 'build_date': '2022-01-06T20:55:37.021Z',
            'type': True, 'total_obj': False, 'pit': None, 'tiebreak': False,
            'shards': 5, 'product_header': False, 'min_wire': '5.6.0',
            'min_index': '5.0.0'},
    'es7': {'number': '7.17.18', 'lucene': '8.11.1', 'dist': None,
            'build_hash': '8682172c2130b9a411b1bd5ff37c9792367de6b0',
            'build_date': '2024-02-02T12:04:59.691750271Z',
            'type': True, 'total_obj': True, 'pit': 'es', 'tiebreak': True,
            'shards': 1, 'product_header': True, 'min_wire': '6.8.0',
            'min_index': '6.0.0-beta1'},
    'es8': {'number': '8.11.4', 'lucene': '9.8.0', 'dist': None,
            'build_hash': 'da06c53fd49b7e676ccf8a32d6655c5155c16d81',
            'build_date': '2024-01-08T10:05:08.438562403Z',
            'type': False, 'total_obj': True, 'pit': 'es', 'tiebreak': True,
            'shards': 1, 'product_header': True, 'min_wire': '7.17.0',
            'min_index': '7.0.0'},
    'os1': {'number': '1.3.14', 'lucene': '8.10.1', 'dist': 'opensearch',
            'build_hash': '4ea6a2d4c7d5f6bb4eb50fb8b4ff9a2bbf6f9bd0',
            'build_date': '2023-12-08T02:35:38.041279Z',
            'type': True, 'total_obj': True, 'pit': None, 'tiebreak': False,
            'shards': 1, 'product_header': False, 'min_wire': '6.8.0',
            'min_index': '6.0.0-beta1'},
    'os2': {'number': '2.11.1', 'lucene': '9.7.0', 'dist': 'opensearch',
            'build_hash': '6b1986e964d440be9137eba1413015c31c5a7752',
            'build_date': '2023-11-29T21:43:10.135035992Z',
            'type': False, 'total_obj': True, 'pit': 'os', 'tiebreak': False,
            'shards': 1, 'product_header': False, 'min_wire': '7.10.0',
            'min_index': '7.0.0'},
}

FL = None		# the flavour's dict
FLNAME = None
VERBOSE = False


def log(msg):
    if VERBOSE:
        sys.stderr.write('fake_es: %s\n' % msg)
        sys.stderr.flush()


def dumps(o):
    return json.dumps(o, separators=(',', ':'))


# ---------------------------------------------------------------- dates

DATE_MATH = re.compile(r'^now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?$')
UNIT_MS = {'s': 1000, 'm': 60000, 'h': 3600000, 'H': 3600000, 'd': 86400000,
           'w': 7 * 86400000, 'M': 30 * 86400000, 'y': 365 * 86400000}


class DateError(Exception):
    pass


def now_ms():
    return int(time.time() * 1000)


def parse_date(v, fmt=None):
    """Milliseconds since the epoch of v (number, digits or ISO 8601)."""
    if isinstance(v, bool):
        raise DateError('not a date: %r' % (v,))
    if isinstance(v, (int, float)):
        if fmt == 'epoch_second':
            return int(v * 1000)
        return int(v)
    if not isinstance(v, str):
        raise DateError('not a date: %r' % (v,))
    s = v.strip()
    if re.fullmatch(r'-?\d+(\.\d+)?', s) and (fmt is None or 'epoch' in fmt
                                               or len(s) > 8):
        n = float(s) if '.' in s else int(s)
        if fmt == 'epoch_second':
            return int(n * 1000)
        return int(n)
    m = DATE_MATH.match(s)
    if m:
        t = now_ms()
        for sign, n, u in re.findall(r'([+-])(\d+)([yMwdhHms])', m.group(1)):
            t += (1 if sign == '+' else -1) * int(n) * UNIT_MS[u]
        if m.group(2):
            t -= t % UNIT_MS[m.group(2)]
        return t
    try:
        iso = s.replace(' ', 'T', 1) if re.match(r'\d{4}-\d\d-\d\d \d', s) else s
        if iso.endswith('Z') or iso.endswith('z'):
            iso = iso[:-1] + '+00:00'
        m = re.match(r'^(.*T\d\d:\d\d(?::\d\d)?)(\.\d+)?(.*)$', iso)
        frac_ms = 0
        if m and m.group(2):
            frac = m.group(2)[1:]
            frac_ms = int((frac + '000')[:3])
            iso = m.group(1) + m.group(3)
        m = re.match(r'^(.*)([+-]\d\d)(\d\d)$', iso)
        if m and 'T' in iso:
            iso = m.group(1) + m.group(2) + ':' + m.group(3)
        d = datetime.datetime.fromisoformat(iso)
    except ValueError:
        raise DateError('failed to parse date field [%s]' % s)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 1000 + frac_ms


def iso_ms(ms):
    d = datetime.datetime.fromtimestamp(ms // 1000, datetime.timezone.utc)
    return d.strftime('%Y-%m-%dT%H:%M:%S') + '.%03dZ' % (ms % 1000)


# ---------------------------------------------------------------- docs

TOKEN_RE = re.compile(r"\w+(?:[.'’]\w+)*", re.UNICODE)


def tokens(s):
    return [t.lower() for t in TOKEN_RE.findall(s)]


def leaf_text(v):
    if v is True:
        return 'true'
    if v is False:
        return 'false'
    if v is None:
        return ''
    return str(v)


def flatten(obj, prefix='', out=None):
    """path -> [leaf values]; arrays are flattened."""
    if out is None:
        out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            flatten(v, prefix + k if not prefix else prefix + '.' + k, out)
    elif isinstance(obj, list):
        for v in obj:
            flatten(v, prefix, out)
    else:
        out.setdefault(prefix, []).append(obj)
    return out


class Doc(object):
    """One hit candidate: a stored document or a generated one."""
    __slots__ = ('index', 'id', 'source', 'ms', 'tb', '_flat')

    def __init__(self, index, id, source, ms, tb):
        self.index = index
        self.id = id
        self.source = source
        self.ms = ms
        self.tb = tb
        self._flat = None

    def flat(self):
        if self._flat is None:
            self._flat = flatten(self.source)
        return self._flat

    def values(self, field):
        if field == '_id':
            return [self.id]
        if field == '_index':
            return [self.index.name]
        f = self.flat()
        if '*' in field or '?' in field:
            out = []
            for k, v in f.items():
                if fnmatch.fnmatchcase(k, field):
                    out.extend(v)
            return out
        return f.get(field, [])

    def all_values(self):
        out = []
        for v in self.flat().values():
            out.extend(v)
        return out


class Index(object):
    ords = itertools.count(1)

    def __init__(self, name, date_field='@timestamp'):
        self.name = name
        self.ord = next(Index.ords)
        self.date_field = date_field
        self.docs = []			# real docs, insertion order
        self.virtual = None		# generate() parameters
        self.uuid = base64.urlsafe_b64encode(os.urandom(16)).decode()[:22]

    def snapshot(self):
        c = Index.__new__(Index)
        c.name, c.ord, c.date_field = self.name, self.ord, self.date_field
        c.docs = list(self.docs)
        c.virtual = dict(self.virtual) if self.virtual else None
        c.uuid = self.uuid
        return c

    def count(self):
        return self.virtual['count'] if self.virtual else len(self.docs)

    # Virtual documents.
    def vdoc(self, i):
        v = self.virtual
        ms = v['start_ms'] + i * v['step_ms']
        src = {self.date_field: iso_ms(ms), 'seq': i, 'program': 'sshd',
               'host': 'gen-%d' % (i % 7)}
        src.update(v['fields'])
        head = 'generated event %d of %s ' % (i, self.name)
        base = len(dumps(src)) + len(',"message":""')
        pad = v['doc_bytes'] - base - len(head)
        src['message'] = head + ('x' * pad if pad > 0 else '')
        return Doc(self, 'g%d' % i, src, ms, (self.ord << 32) | i)


STATE_LOCK = threading.RLock()
INDEXES = {}		# name -> Index
FAULTS = []		# list of dicts (with 'left')
REQUESTS = []
AUTH = {}		# {'basic': 'user:pass'} and/or {'api_key': 'KEY'}
SCROLLS = {}		# id -> ScrollCtx
PITS = {}		# id -> {'indexes': [Index snapshots], 'keep_alive':..}
ID_SEQ = itertools.count(1)


def new_ctx_id(prefix):
    raw = ('%s%d:' % (prefix, next(ID_SEQ))).encode() + os.urandom(12)
    return base64.b64encode(raw).decode()


def add_docs(index, docs, date_field=None):
    with STATE_LOCK:
        ix = INDEXES.get(index)
        if ix is None or ix.virtual is not None:
            ix = INDEXES[index] = Index(index, date_field or '@timestamp')
        elif date_field:
            ix.date_field = date_field
        n = 0
        for d in docs:
            if not isinstance(d, dict):
                raise ValueError('each doc must be an object')
            src = dict(d)
            did = src.pop('_id', None)
            if did is None:
                did = 'fk%08d%s' % (next(ID_SEQ), base64.b32encode(
                    os.urandom(5)).decode().lower())
            ms = None
            if ix.date_field in src:
                ms = parse_date(src[ix.date_field])
            else:
                vals = flatten(src).get(ix.date_field)
                if vals:
                    ms = parse_date(vals[0])
            doc = Doc(ix, str(did), src, ms, (ix.ord << 32) | len(ix.docs))
            ix.docs.append(doc)
            n += 1
        return n


# ---------------------------------------------------------------- errors

class ESError(Exception):
    def __init__(self, status, body):
        Exception.__init__(self, str(body))
        self.status = status
        self.body = body


def es_error(status, etype, reason, **extra):
    cause = {'type': etype, 'reason': reason}
    cause.update(extra)
    err = {'root_cause': [dict(cause)]}
    err.update(cause)
    return ESError(status, {'error': err, 'status': status})


def index_not_found(name):
    return es_error(404, 'index_not_found_exception',
                    'no such index [%s]' % name,
                    **{'resource.type': 'index_or_alias', 'resource.id': name,
                       'index_uuid': '_na_', 'index': name})


def bad_request(reason, etype='illegal_argument_exception'):
    return es_error(400, etype, reason)


def parsing_error(reason):
    return es_error(400, 'parsing_exception', reason, line=1, col=1)


def shard_phase_error(status, cause, index_name, grouped_reason='all shards failed'):
    root = dict(cause)
    root.pop('caused_by', None)
    err = {'root_cause': [root], 'type': 'search_phase_execution_exception',
           'reason': grouped_reason, 'phase': 'query', 'grouped': True,
           'failed_shards': [{'shard': 0, 'index': index_name,
                              'node': 'fAkEn0de5iMP2fxx3L872g',
                              'reason': cause}]}
    if 'caused_by' in cause:
        err['caused_by'] = cause['caused_by']
    return ESError(status, {'error': err, 'status': status})


# ---------------------------------------------------------------- queries

class QSError(Exception):
    pass


class Q(object):
    """A compiled query: fn(doc) -> bool; pure when it is only a window on
    the date field (so virtual indexes can answer arithmetically)."""

    def __init__(self, fn, pure=False, lo=None, hi=None):
        self.fn = fn
        self.pure = pure
        self.lo = lo		# inclusive ms
        self.hi = hi		# exclusive ms

    def __call__(self, doc):
        return self.fn(doc)


Q_ALL = Q(lambda d: True, pure=True)
Q_NONE = Q(lambda d: False)


def q_and(qs):
    if not qs:
        return Q_ALL
    pure = all(q.pure for q in qs)
    lo = hi = None
    if pure:
        for q in qs:
            if q.lo is not None:
                lo = q.lo if lo is None else max(lo, q.lo)
            if q.hi is not None:
                hi = q.hi if hi is None else min(hi, q.hi)
    fns = [q.fn for q in qs]
    return Q(lambda d: all(f(d) for f in fns), pure, lo, hi)


def q_or(qs):
    if not qs:
        return Q_NONE
    if len(qs) == 1:
        return qs[0]
    fns = [q.fn for q in qs]
    pure = all(q.pure and q.lo is None and q.hi is None for q in qs)
    return Q(lambda d: any(f(d) for f in fns), pure)


def q_not(q):
    f = q.fn
    return Q(lambda d: not f(d))


def num(v):
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str) and re.fullmatch(r'-?\d+(\.\d+)?([eE][-+]?\d+)?', v.strip()):
        return float(v)
    return None


def value_matches(v, term, phrase=False, wildcard=False):
    """Does the leaf v match the query term (case-insensitive tokens)?"""
    s = leaf_text(v)
    sl = s.lower()
    tl = term.lower()
    if wildcard:
        if fnmatch.fnmatchcase(sl, tl):
            return True
        return any(fnmatch.fnmatchcase(t, tl) for t in tokens(s))
    if not phrase:
        nv, nt = num(v), num(term)
        if nv is not None and nt is not None and not isinstance(v, str):
            return nv == nt
        if sl == tl:
            return True
    qt = tokens(term)
    if not qt:
        return sl == tl
    dt = tokens(s)
    n = len(qt)
    for i in range(len(dt) - n + 1):
        if dt[i:i + n] == qt:
            return True
    return False


def cmp_value(doc, field, v, date_field):
    """A comparable of doc value v of field (dates as ms)."""
    if field == date_field:
        try:
            return parse_date(v)
        except DateError:
            return None
    return v


def range_pred(field, lo, lo_inc, hi, hi_inc, fmt=None):
    """Predicate of a range on field; bounds are raw (strings or numbers)."""
    def conv(doc, b):
        if b is None:
            return None
        if field == doc.index.date_field:
            return parse_date(b, fmt)
        n = num(b)
        return n if n is not None else b

    def fn(doc):
        if field == doc.index.date_field:
            vals = [doc.ms] if doc.ms is not None else []
        else:
            vals = doc.values(field)
        try:
            blo, bhi = conv(doc, lo), conv(doc, hi)
        except DateError:
            return False
        for v in vals:
            if field != doc.index.date_field:
                nv = num(v)
                if nv is not None and (blo is None or num(blo) is not None) \
                        and (bhi is None or num(bhi) is not None):
                    v = nv
                else:
                    v = leaf_text(v)
                    blo = None if blo is None else leaf_text(blo)
                    bhi = None if bhi is None else leaf_text(bhi)
            if blo is not None and (v < blo or (v == blo and not lo_inc)):
                continue
            if bhi is not None and (v > bhi or (v == bhi and not hi_inc)):
                continue
            return True
        return False
    return fn


def q_range(field, spec, date_field_hint):
    if not isinstance(spec, dict):
        raise parsing_error('[range] query malformed, no start_object after '
                            'query name')
    fmt = spec.get('format')
    lo = hi = None
    lo_inc = hi_inc = True
    for k, v in spec.items():
        if k in ('gte', 'from'):
            lo, lo_inc = v, spec.get('include_lower', True) if k == 'from' else True
        elif k == 'gt':
            lo, lo_inc = v, False
        elif k in ('lte', 'to'):
            hi, hi_inc = v, spec.get('include_upper', True) if k == 'to' else True
        elif k == 'lt':
            hi, hi_inc = v, False
        elif k in ('format', 'time_zone', 'boost', 'relation',
                   'include_lower', 'include_upper'):
            pass
        else:
            raise parsing_error('[range] query does not support [%s]' % k)
    fn = range_pred(field, lo, lo_inc, hi, hi_inc, fmt)
    if field == date_field_hint:
        try:
            plo = None if lo is None else parse_date(lo, fmt) + (0 if lo_inc else 1)
            phi = None if hi is None else parse_date(hi, fmt) + (1 if hi_inc else 0)
        except DateError as e:
            raise parsing_error(str(e))
        return Q(fn, True, plo, phi)
    return Q(fn)


def q_term_any(field, term, phrase=False, wildcard=False):
    if field is None or field in ('*', '_all'):
        return Q(lambda d: any(value_matches(v, term, phrase, wildcard)
                               for v in d.all_values()))
    return Q(lambda d: any(value_matches(v, term, phrase, wildcard)
                           for v in d.values(field)))


def q_exists(field):
    return Q(lambda d: any(v is not None for v in d.values(field)))


def compile_query(q, date_field):
    """Compile a query DSL object; raises ESError (400) on bad input."""
    if q is None:
        return Q_ALL
    if not isinstance(q, dict) or len(q) != 1:
        raise parsing_error('[_na] query malformed, must start with start_object'
                            if not isinstance(q, dict) else
                            '[%s] malformed query, expected [END_OBJECT] but '
                            'found [FIELD_NAME]' % (list(q)[0] if q else '_na'))
    kind, body = next(iter(q.items()))
    if kind == 'match_all':
        return Q_ALL
    if kind == 'match_none':
        return Q_NONE
    if kind == 'bool':
        if not isinstance(body, dict):
            raise parsing_error('[bool] malformed query')

        def lst(k):
            v = body.get(k, [])
            return v if isinstance(v, list) else [v]
        must = [compile_query(x, date_field) for x in lst('must') + lst('filter')]
        should = [compile_query(x, date_field) for x in lst('should')]
        must_not = [compile_query(x, date_field) for x in lst('must_not')]
        for k in body:
            if k not in ('must', 'filter', 'should', 'must_not', 'boost',
                         'minimum_should_match', '_name'):
                raise parsing_error('[bool] query does not support [%s]' % k)
        parts = list(must)
        msm = body.get('minimum_should_match')
        if should and (not must or msm not in (None, 0, '0')):
            parts.append(q_or(should))
        for n in must_not:
            parts.append(q_not(n))
        return q_and(parts)
    if kind in ('query_string', 'simple_query_string'):
        if isinstance(body, str):
            body = {'query': body}
        if 'query' not in body:
            raise parsing_error('[%s] must be provided with a [query]' % kind)
        return QSCompiled(body, date_field)
    if kind == 'range':
        if not isinstance(body, dict) or len(body) != 1:
            raise parsing_error('[range] query doesn\'t support multiple fields')
        field, spec = next(iter(body.items()))
        return q_range(field, spec, date_field)
    if kind in ('term', 'match', 'match_phrase', 'prefix', 'wildcard'):
        if not isinstance(body, dict) or len(body) != 1:
            raise parsing_error('[%s] query doesn\'t support multiple fields' % kind)
        field, spec = next(iter(body.items()))
        val = spec.get('value', spec.get('query')) if isinstance(spec, dict) else spec
        if kind == 'term':
            return Q(lambda d: any(leaf_text(v) == leaf_text(val)
                                   for v in d.values(field)))
        if kind == 'prefix':
            return q_term_any(field, leaf_text(val) + '*', wildcard=True)
        if kind == 'wildcard':
            return q_term_any(field, leaf_text(val), wildcard=True)
        if kind == 'match_phrase':
            return q_term_any(field, leaf_text(val), phrase=True)
        toks = tokens(leaf_text(val))
        op = spec.get('operator', 'or').lower() if isinstance(spec, dict) else 'or'
        qs = [q_term_any(field, t) for t in toks] or [Q_NONE]
        return q_and(qs) if op == 'and' else q_or(qs)
    if kind == 'terms':
        field, vals = next((k, v) for k, v in body.items() if k != 'boost')
        want = set(leaf_text(v) for v in vals)
        return Q(lambda d: any(leaf_text(v) in want for v in d.values(field)))
    if kind == 'exists':
        return q_exists(body.get('field'))
    if kind == 'ids':
        want = set(str(x) for x in body.get('values', []))
        return Q(lambda d: d.id in want)
    raise parsing_error('unknown query [%s]' % kind)


# Lucene query string subset.

QS_OPS = {'AND', 'OR', 'NOT', '&&', '||'}


def qs_lex(s):
    """Tokens: ('(',) (')',) ('op', X) ('pre', '+'|'-'|'!') ('term', field,
    text, kind) with kind 'word'|'phrase'|'range'|'group'."""
    out = []
    i, n = 0, len(s)

    def read_word(i):
        buf = []
        while i < n:
            c = s[i]
            if c == '\\':
                if i + 1 >= n:
                    raise QSError('Lexical error at end of input: '
                                  'a backslash ends the query')
                buf.append(s[i + 1])
                i += 2
                continue
            if c.isspace() or c in '()"':
                break
            if c == ':' and i + 1 <= n:
                buf.append('\0')	# an unescaped colon
                i += 1
                continue
            buf.append(c)
            i += 1
        return ''.join(buf), i

    def read_phrase(i):
        j = i + 1
        buf = []
        while j < n and s[j] != '"':
            if s[j] == '\\' and j + 1 < n:
                buf.append(s[j + 1])
                j += 2
                continue
            buf.append(s[j])
            j += 1
        if j >= n:
            raise QSError('Lexical error at line 1, column %d.  Encountered: '
                          '<EOF> after : "\\"%s"' % (n + 1, ''.join(buf)))
        return ''.join(buf), j + 1

    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c in '()':
            out.append((c,))
            i += 1
            continue
        if s.startswith('&&', i) or s.startswith('||', i):
            out.append(('op', 'AND' if c == '&' else 'OR'))
            i += 2
            continue
        if c in '+-!' and i + 1 < n and not s[i + 1].isspace():
            out.append(('pre', c))
            i += 1
            continue
        if c == '"':
            text, i = read_phrase(i)
            out.append(('term', None, text, 'phrase'))
            continue
        word, i = read_word(i)
        if word in ('AND', 'OR', 'NOT'):
            out.append(('op', word))
            continue
        if '\0' in word:
            field, rest = word.split('\0', 1)
            rest = rest.replace('\0', ':')
            if not field:
                raise QSError("Encountered \" \":\" \": \"\" at line 1")
            if rest:
                if rest[0] in '[{':
                    # a range, possibly with spaces: read to the closer
                    text = rest
                    while not (text.endswith(']') or text.endswith('}')):
                        if i >= n:
                            raise QSError('Encountered "<EOF>" in a range')
                        k = i
                        while k < n and s[k] not in ']}':
                            k += 1
                        if k >= n:
                            raise QSError('Encountered "<EOF>" in a range')
                        text += s[i:k + 1]
                        i = k + 1
                    out.append(('term', field, text, 'range'))
                else:
                    out.append(('term', field, rest, 'word'))
                continue
            # field: followed by a phrase, a group or a range
            while i < n and s[i].isspace():
                i += 1
            if i < n and s[i] == '"':
                text, i = read_phrase(i)
                out.append(('term', field, text, 'phrase'))
            elif i < n and s[i] == '(':
                out.append(('field', field))
            elif i < n and s[i] in '[{':
                k = i
                while k < n and s[k] not in ']}':
                    k += 1
                if k >= n:
                    raise QSError('Encountered "<EOF>" in a range')
                out.append(('term', field, s[i:k + 1], 'range'))
                i = k + 1
            else:
                raise QSError('Encountered "<EOF>" after "%s:"' % field)
            continue
        if word == '':
            raise QSError('Encountered "%s" at line 1, column %d.' % (c, i + 1))
        out.append(('term', None, word, 'word'))
    return out


class QSParser(object):
    def __init__(self, text, date_field, default_field=None, default_and=False):
        self.toks = qs_lex(text)
        self.pos = 0
        self.date_field = date_field
        self.dfield = default_field
        self.default_and = default_and

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self):
        t = self.peek()
        self.pos += 1
        return t

    def parse(self):
        if not self.toks:
            return Q_NONE
        q = self.clauses(None)
        if self.peek() is not None:
            raise QSError('Encountered " ")" ") "" at line 1')
        return q

    def clauses(self, field):
        """A sequence of clauses joined by OR / adjacency, with +/- occur."""
        must, should, must_not = [], [], []
        first = True
        while True:
            t = self.peek()
            if t is None or t[0] == ')':
                break
            if not first and t == ('op', 'OR'):
                self.take()
                if self.peek() is None or self.peek()[0] == ')':
                    raise QSError('Encountered "<EOF>" after "OR"')
            elif t[0] == 'op' and t[1] in ('AND', 'OR'):
                raise QSError('Encountered " <%s> "%s "" at line 1' % (t[1], t[1]))
            occur, q = self.and_expr(field)
            if occur == '+':
                must.append(q)
            elif occur == '-':
                must_not.append(q)
            else:
                (must if self.default_and else should).append(q)
            first = False
        if first:
            raise QSError('Encountered "<EOF>"')
        parts = list(must)
        if should and not must:
            parts.append(q_or(should))
        for q in must_not:
            parts.append(q_not(q))
        return q_and(parts)

    def and_expr(self, field):
        occur, q = self.unary(field)
        items = [q]
        while self.peek() == ('op', 'AND'):
            self.take()
            if self.peek() is None or self.peek()[0] == ')':
                raise QSError('Encountered "<EOF>" after "AND"')
            o2, q2 = self.unary(field)
            items.append(q_not(q2) if o2 == '-' else q2)
        if len(items) > 1:
            if occur == '-':
                items[0] = q_not(items[0])
                occur = None
            return occur, q_and(items)
        return occur, q

    def unary(self, field):
        t = self.peek()
        if t == ('op', 'NOT') or t == ('pre', '!'):
            self.take()
            if self.peek() is None or self.peek()[0] == ')':
                raise QSError('Encountered "<EOF>" after "NOT"')
            o, q = self.unary(field)
            return '-', (q if o != '-' else q_not(q))
        if t is not None and t[0] == 'pre':
            self.take()
            o, q = self.unary(field)
            return t[1], q
        return None, self.primary(field)

    def primary(self, field):
        t = self.take()
        if t is None:
            raise QSError('Encountered "<EOF>"')
        if t[0] == '(':
            q = self.clauses(field)
            if self.take() != (')',):
                raise QSError('Encountered "<EOF>" expecting ")"')
            return q
        if t[0] == 'field':
            self.take()		# the '('
            q = self.clauses(t[1])
            if self.take() != (')',):
                raise QSError('Encountered "<EOF>" expecting ")"')
            return q
        if t[0] != 'term':
            raise QSError('Encountered " <%s> "%s "" at line 1' % (t[1], t[1]))
        _, f, text, kind = t
        f = f if f is not None else field
        if f is not None and f in ('_exists_',):
            return q_exists(text)
        if kind == 'range':
            return self.range(f, text)
        if kind == 'phrase':
            return q_term_any(f or self.dfield, text, phrase=True)
        if f is not None and text == '*':
            return q_exists(f)
        if f is None and text == '*':
            return Q_ALL
        if f == '*' and text == '*':
            return Q_ALL
        for op in ('>=', '<=', '>', '<'):
            if f is not None and text.startswith(op) and len(text) > len(op):
                b = text[len(op):]
                if op[0] == '>':
                    return self.mkrange(f, b, op == '>=', None, True)
                return self.mkrange(f, None, True, b, op == '<=')
        wild = '*' in text or '?' in text
        return q_term_any(f or self.dfield, text, wildcard=wild)

    def range(self, f, text):
        m = re.fullmatch(r'([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])', text)
        if not m or f is None:
            raise QSError('Cannot parse range [%s]' % text)
        lo = None if m.group(2) == '*' else m.group(2)
        hi = None if m.group(3) == '*' else m.group(3)
        return self.mkrange(f, lo, m.group(1) == '[', hi, m.group(4) == ']')

    def mkrange(self, f, lo, lo_inc, hi, hi_inc):
        if f == self.date_field:
            for b in (lo, hi):
                if b is not None:
                    try:
                        parse_date(b)
                    except DateError as e:
                        raise QSError(str(e))
        q = Q(range_pred(f, lo, lo_inc, hi, hi_inc))
        return q


def QSCompiled(body, date_field):
    text = body['query']
    if not isinstance(text, str):
        raise parsing_error('[query_string] query malformed')
    dfield = body.get('default_field')
    if dfield is None and body.get('fields'):
        fl = body['fields']
        dfield = fl[0] if len(fl) == 1 else None
    dand = str(body.get('default_operator', 'or')).lower() == 'and'
    stripped = text.strip()
    if stripped in ('*', '*:*'):
        return Q_ALL
    try:
        q = QSParser(text, date_field, dfield, dand).parse()
        err = None
    except QSError as e:
        q, err = None, str(e)
    if err is not None:
        # Raised per shard (after index resolution), as Elasticsearch does.
        def fail(d, err=err):
            raise QSError(err)
        res = Q(fail)
        res.qs_error = (text, err)
        return res
    return q


def qs_errors(q_body, date_field):
    """Walk the DSL for bad query strings: [(text, error)]."""
    out = []

    def walk(x):
        if isinstance(x, dict):
            for k, v in x.items():
                if k in ('query_string', 'simple_query_string'):
                    b = v if isinstance(v, dict) else {'query': v}
                    if isinstance(b.get('query'), str):
                        r = QSCompiled(b, date_field)
                        if hasattr(r, 'qs_error'):
                            out.append(r.qs_error)
                else:
                    walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(q_body)
    return out


# ---------------------------------------------------------------- sorting

class Rev(object):
    __slots__ = ('v',)

    def __init__(self, v):
        self.v = v

    def __lt__(self, o):
        return o.v < self.v

    def __gt__(self, o):
        return o.v > self.v

    def __eq__(self, o):
        return self.v == o.v

    def __le__(self, o):
        return o.v <= self.v

    def __ge__(self, o):
        return o.v >= self.v


def parse_sort(sort, date_field):
    """[(field, desc)]; None when the hits are not sorted by a field."""
    if sort is None:
        return None
    if not isinstance(sort, list):
        sort = [sort]
    out = []
    for s in sort:
        if isinstance(s, str):
            f, desc = s, (s == '_score')
            if ':' in s:
                f, o = s.split(':', 1)
                desc = o == 'desc'
        elif isinstance(s, dict) and len(s) == 1:
            f, spec = next(iter(s.items()))
            if isinstance(spec, str):
                o = spec
            elif isinstance(spec, dict):
                o = spec.get('order', 'desc' if f == '_score' else 'asc')
            else:
                raise parsing_error('[sort] malformed')
            if o not in ('asc', 'desc'):
                raise bad_request('Unknown SortOrder [%s]' % o)
            desc = o == 'desc'
        else:
            raise parsing_error('[sort] malformed')
        out.append((f, desc))
    if all(f == '_score' for f, _ in out):
        return None
    return out


def sort_raw(doc, field, desc):
    """The sort value as Elasticsearch prints it."""
    if field in ('_shard_doc', '_doc'):
        return doc.tb
    if field == '_score':
        return 1.0
    if field == doc.index.date_field:
        if doc.ms is None:
            return LONG_MIN if desc else LONG_MAX
        return doc.ms
    vals = doc.values(field)
    if not vals:
        return None
    v = vals[0]
    return v


def comparable(v, field, desc, date_field):
    if field == date_field and v is not None and not isinstance(v, (int, float)):
        try:
            v = parse_date(v)
        except DateError:
            pass
    if v is None:
        c = (1, 0, 0)
        return c			# missing sorts last either way
    if isinstance(v, bool):
        v = int(v)
    if isinstance(v, (int, float)):
        c = (0, 0, v)
    else:
        c = (0, 1, leaf_text(v))
    return Rev(c) if desc else c


def doc_key(doc, sort):
    """The internal total-order key: the sort fields, then the tiebreak."""
    if sort is None:
        return (doc.tb,)
    k = tuple(comparable(sort_raw(doc, f, d), f, d, doc.index.date_field)
              for f, d in sort)
    return k + (doc.tb,)


def after_key(values, sort, date_field):
    if len(values) != len(sort):
        raise bad_request('search_after has %d value(s) but sort has %d.'
                          % (len(values), len(sort)))
    out = []
    for v, (f, d) in zip(values, sort):
        if f in ('_shard_doc', '_doc'):
            out.append(comparable(int(v), f, d, None))
        else:
            out.append(comparable(v, f, d, date_field))
    return tuple(out)


# ---------------------------------------------------------------- segments

class Segment(object):
    """The matching hits of one index, in key order."""

    def __init__(self, ix, q, sort):
        self.ix = ix
        self.sort = sort
        self.q = q
        self.arith = False
        if ix.virtual is not None and q.pure and ix.virtual['step_ms'] > 0 \
                and self.monotonic(sort, ix.date_field):
            self.arith = True
            v = ix.virtual
            lo_i, hi_i = 0, v['count']
            if q.lo is not None:
                lo_i = max(lo_i, -((v['start_ms'] - q.lo) // v['step_ms']))
            if q.hi is not None:
                hi_i = min(hi_i, -((v['start_ms'] - q.hi) // v['step_ms']))
            self.lo_i, self.hi_i = lo_i, max(lo_i, hi_i)
            self.desc = bool(sort) and sort[0][0] == ix.date_field and sort[0][1]
        else:
            if ix.virtual is not None:
                # keep numbers only: the docs are made again when sent
                ent = []
                for i in range(ix.virtual['count']):
                    d = ix.vdoc(i)
                    if q(d):
                        ent.append((doc_key(d, sort), i))
            else:
                ent = [(doc_key(d, sort), d) for d in ix.docs if q(d)]
            self.entries = sorted(ent, key=lambda e: e[0])
            self.keys = [e[0] for e in self.entries]

    @staticmethod
    def monotonic(sort, date_field):
        if sort is None:
            return True
        fields = [f for f, _ in sort]
        if fields[0] in ('_shard_doc', '_doc'):
            return not sort[0][1]
        if fields[0] != date_field:
            return False
        return True

    def count(self):
        if self.arith:
            return self.hi_i - self.lo_i
        return len(self.entries)

    def _arith_pos(self, p):
        return (self.hi_i - 1 - p) if self.desc else (self.lo_i + p)

    def iter_after(self, after):
        """(key, doc) in key order with key[:len(after)] > after."""
        if self.arith:
            n = self.count()
            start = 0
            if after is not None:
                k = len(after)
                lo, hi = 0, n
                while lo < hi:
                    mid = (lo + hi) // 2
                    d = self.ix.vdoc(self._arith_pos(mid))
                    if doc_key(d, self.sort)[:k] > after:
                        hi = mid
                    else:
                        lo = mid + 1
                start = lo
            for p in range(start, n):
                d = self.ix.vdoc(self._arith_pos(p))
                yield doc_key(d, self.sort), d
            return
        start = 0
        if after is not None:
            k = len(after)
            # keys are sorted; the prefixes too
            lo, hi = 0, len(self.keys)
            while lo < hi:
                mid = (lo + hi) // 2
                if self.keys[mid][:k] > after:
                    hi = mid
                else:
                    lo = mid + 1
            start = lo
        virtual = self.ix.virtual is not None
        for i in range(start, len(self.entries)):
            k, d = self.entries[i]
            yield (k, self.ix.vdoc(d)) if virtual else (k, d)


def merged(segments, after):
    its = [s.iter_after(after) for s in segments]
    if len(its) == 1:
        return its[0]
    return heapq.merge(*its, key=lambda e: e[0])


# ---------------------------------------------------------------- _source

def source_filter(src, spec):
    """Apply a _source spec (bool, string, list, {includes,excludes})."""
    if spec is None or spec is True:
        return src
    if spec is False:
        return None
    inc, exc = [], []
    if isinstance(spec, str):
        inc = [spec]
    elif isinstance(spec, list):
        inc = spec
    elif isinstance(spec, dict):
        inc = spec.get('includes', spec.get('include', []))
        exc = spec.get('excludes', spec.get('exclude', []))
        inc = [inc] if isinstance(inc, str) else inc
        exc = [exc] if isinstance(exc, str) else exc

    def matches(pats, path):
        for p in pats:
            if fnmatch.fnmatchcase(path, p) or path.startswith(p + '.'):
                return True
        return False

    def could(pats, path):
        for p in pats:
            if p.startswith(path + '.') or ('*' in p and fnmatch.fnmatchcase(
                    path, p.split('*')[0] + '*')) or \
                    p.split('*')[0].startswith(path + '.'):
                return True
        return False

    def walk(obj, prefix):
        out = {}
        for k, v in obj.items():
            path = prefix + '.' + k if prefix else k
            if exc and matches(exc, path):
                continue
            if not inc or matches(inc, path):
                if isinstance(v, dict) and exc:
                    out[k] = walk_all(v, path)
                else:
                    out[k] = v
            elif isinstance(v, dict) and could(inc, path):
                sub = walk(v, path)
                if sub:
                    out[k] = sub
            elif isinstance(v, list) and could(inc, path):
                sub = [walk(x, path) for x in v if isinstance(x, dict)]
                sub = [x for x in sub if x]
                if sub:
                    out[k] = sub
        return out

    def walk_all(obj, prefix):
        out = {}
        for k, v in obj.items():
            path = prefix + '.' + k
            if matches(exc, path):
                continue
            out[k] = walk_all(v, path) if isinstance(v, dict) else v
        return out

    return walk(src, '')


# ---------------------------------------------------------------- search

def resolve(expr, params):
    """Index expression -> [Index] (live objects)."""
    ignore_unavailable = params.get('ignore_unavailable') == 'true'
    allow_no = params.get('allow_no_indices', 'true') != 'false'
    out = []
    seen = set()
    with STATE_LOCK:
        names = sorted(INDEXES)
        if expr in (None, '', '_all', '*'):
            sel = names
        else:
            sel = []
            for part in expr.split(','):
                part = part.strip()
                if not part:
                    continue
                if part.startswith('-') and sel:
                    sel = [n for n in sel if not fnmatch.fnmatchcase(n, part[1:])]
                    continue
                if '*' in part or '?' in part:
                    m = [n for n in names if fnmatch.fnmatchcase(n, part)]
                    if not m and not allow_no:
                        raise index_not_found(part)
                    sel.extend(m)
                elif part in INDEXES:
                    sel.append(part)
                elif not ignore_unavailable:
                    raise index_not_found(part)
        for n in sel:
            if n not in seen:
                seen.add(n)
                out.append(INDEXES[n])
    if not out and not allow_no and expr not in (None, '', '_all', '*'):
        raise index_not_found(expr)
    return out


class SearchReq(object):
    pass


def parse_search(body, params):
    """Common parsing of a _search request; raises ESError."""
    r = SearchReq()
    b = body if isinstance(body, dict) else {}
    known = {'query', 'size', 'from', 'sort', 'search_after', '_source',
             'track_total_hits', 'pit', 'timeout', 'aggs', 'aggregations',
             'stored_fields', 'fields', 'docvalue_fields', 'version',
             'seq_no_primary_term', 'track_scores', 'min_score', 'highlight',
             'terminate_after', 'explain', 'runtime_mappings', 'profile',
             'collapse', 'post_filter'}
    for k in b:
        if k not in known:
            raise parsing_error('Unknown key for a START_OBJECT in [%s].' % k
                                if isinstance(b[k], dict) else
                                'Unknown key for a VALUE_STRING in [%s].' % k)
    r.query = b.get('query')
    if 'q' in params:
        qs = {'query_string': {'query': params['q']}}
        if 'df' in params:
            qs['query_string']['default_field'] = params['df']
        r.query = qs
    try:
        r.size = int(params.get('size', b.get('size', 10)))
        r.from_ = int(params.get('from', b.get('from', 0)))
    except (TypeError, ValueError):
        raise parsing_error('[size] or [from] is not a number')
    if r.size < 0:
        raise bad_request('[size] parameter cannot be negative, found [%d]' % r.size)
    r.sort = b.get('sort')
    if 'sort' in params and r.sort is None:
        r.sort = [x for x in params['sort'].split(',') if x]
    r.search_after = b.get('search_after')
    r.source = b.get('_source')
    if '_source' in params:
        v = params['_source']
        r.source = True if v == 'true' else False if v == 'false' else v.split(',')
    for p in ('_source_includes', '_source_include'):
        if p in params:
            r.source = {'includes': params[p].split(',')}
    tth = b.get('track_total_hits')
    if 'track_total_hits' in params:
        v = params['track_total_hits']
        tth = True if v == 'true' else False if v == 'false' else int(v)
    r.tth = tth
    r.as_int = params.get('rest_total_hits_as_int') == 'true'
    if not FL['total_obj']:
        if tth is not None and not isinstance(tth, bool):
            raise es_error(400, 'x_content_parse_exception',
                           '[1:1] [search] failed to parse field '
                           '[track_total_hits]', line=1, col=1)
    elif r.as_int and tth is not None and not isinstance(tth, bool) \
            and tth != MAX_WINDOW * 1000:
        raise bad_request('[rest_total_hits_as_int] cannot be used if the '
                          'tracking of total hits is not accurate, got %d' % tth)
    if isinstance(tth, int) and not isinstance(tth, bool) and tth < -1:
        raise bad_request('[track_total_hits] parameter must be positive or '
                          'equals to -1, got %d' % tth)
    r.pit = b.get('pit')
    r.scroll = params.get('scroll')
    return r


def total_part(req, total):
    """The hits.total JSON text (or '' to omit it), per flavour."""
    tth = req.tth
    if not FL['total_obj']:
        return '"total":%d,' % (-1 if tth is False else total)
    if req.as_int:
        return '"total":%d,' % (-1 if tth is False else total)
    if tth is False:
        return ''
    if tth is True or tth == -1:
        cap = None
    elif tth is None:
        cap = DEFAULT_TTH
    else:
        cap = tth
    if cap is not None and total > cap:
        return '"total":{"value":%d,"relation":"gte"},' % cap
    return '"total":{"value":%d,"relation":"eq"},' % total


class ScrollCtx(object):
    pass


def check_qs(indexes, req):
    if not indexes or req.query is None:
        return
    errs = qs_errors(req.query, indexes[0].date_field)
    if errs:
        text, e = errs[0]
        ix = indexes[0]
        cause = {'type': 'query_shard_exception',
                 'reason': 'Failed to parse query [%s]' % text,
                 'index_uuid': ix.uuid, 'index': ix.name,
                 'caused_by': {'type': 'parse_exception',
                               'reason': "Cannot parse '%s': %s" % (text, e)}}
        raise shard_phase_error(400, cause, ix.name)


def build_segments(indexes, req, sort):
    date_field = indexes[0].date_field if indexes else '@timestamp'
    segs = []
    for ix in indexes:
        q = compile_query(req.query, ix.date_field)
        segs.append(Segment(ix, q, sort))
    return segs, date_field


def render_hit(doc, key, sort, source_spec):
    parts = ['{"_index":', dumps(doc.index.name)]
    if FL['type']:
        parts.append(',"_type":"_doc"')
    parts.append(',"_id":')
    parts.append(dumps(doc.id))
    parts.append(',"_score":' + ('null' if sort is not None else '1.0'))
    src = source_filter(doc.source, source_spec)
    if src is not None:
        parts.append(',"_source":')
        parts.append(dumps(src))
    if sort is not None:
        parts.append(',"sort":')
        parts.append(dumps([sort_raw(doc, f, d) for f, d in sort]))
    parts.append('}')
    return ''.join(parts)


def search_stream(head_extra, req, sort, hits_iter, total, nshards, fault, took,
                  aggs_text=None):
    """Generator of the response text."""
    failed = 0
    shards_total = nshards
    failures = ''
    if fault and fault.get('shard_failure'):
        failed = 1
        shards_total = max(nshards, 1) + 1
        reason = fault.get('reason', 'No mapping found for [foo] in order to sort on')
        failures = (',"failures":[{"shard":0,"index":%s,"node":"fAkEn0de5iMP2fxx3L872g",'
                    '"reason":{"type":"query_shard_exception","reason":%s,"index":%s}}]'
                    % (dumps(fault.get('index', 'logs')), dumps(reason),
                       dumps(fault.get('index', 'logs'))))
    timed_out = bool(fault and fault.get('timed_out'))
    first = next(hits_iter, None)
    max_score = 'null' if sort is not None or first is None else '1.0'
    yield ('{%s"took":%d,"timed_out":%s,"_shards":{"total":%d,"successful":%d,'
           '"skipped":0,"failed":%d%s},"hits":{%s"max_score":%s,"hits":['
           % (head_extra, took, 'true' if timed_out else 'false', shards_total,
              shards_total - failed, failed, failures, total_part(req, total),
              max_score))
    if first is not None:
        yield render_hit(first[1], first[0], sort, req.source)
        for key, doc in hits_iter:
            yield ','
            yield render_hit(doc, key, sort, req.source)
    if aggs_text is not None:
        yield ']},"aggregations":' + aggs_text + '}'
    else:
        yield ']}}'


# ---------------------------------------------------------------- aggregations
# A subset: terms (field, size; by doc_count then key), nested aggs, and
# the metrics cardinality, min, max, avg, sum, value_count.

METRICS = ('cardinality', 'min', 'max', 'avg', 'sum', 'value_count')


def agg_values(doc, field):
    v = doc.values(field)
    if not v and field.endswith('.keyword'):
        v = doc.values(field[:-len('.keyword')])
    return [x for x in v if x is not None and not isinstance(x, (dict, list))]


def agg_metric(kind, field, docs):
    vals = []
    for d in docs:
        vals.extend(agg_values(d, field))
    if kind == 'cardinality':
        return {'value': len(set(dumps(v) for v in vals))}
    if kind == 'value_count':
        return {'value': len(vals)}
    nums = [num(v) for v in vals]
    nums = [x for x in nums if x is not None]
    if kind == 'sum':
        return {'value': float(sum(nums))}
    if not nums:
        return {'value': None}
    if kind == 'min':
        return {'value': float(min(nums))}
    if kind == 'max':
        return {'value': float(max(nums))}
    return {'value': float(sum(nums)) / len(nums)}


def run_aggs(spec, docs):
    """{name: spec} over docs -> {name: result}."""
    if not isinstance(spec, dict):
        raise parsing_error('Expected [START_OBJECT] under [aggs]')
    out = {}
    for name, a in spec.items():
        if not isinstance(a, dict):
            raise parsing_error('Expected [START_OBJECT] under [%s]' % name)
        sub = a.get('aggs', a.get('aggregations'))
        kinds = [k for k in a if k not in ('aggs', 'aggregations', 'meta')]
        if len(kinds) != 1:
            raise parsing_error('Expected one aggregation type under [%s]' % name)
        kind = kinds[0]
        body = a[kind]
        if kind in METRICS:
            out[name] = agg_metric(kind, body.get('field'), docs)
            continue
        if kind != 'terms':
            raise parsing_error('Unknown aggregation type [%s] did you mean '
                                '[terms]?' % kind)
        field = body.get('field')
        size = int(body.get('size', 10))
        groups = {}
        for d in docs:
            seen = set()
            for v in agg_values(d, field):
                k = dumps(v)
                if k in seen:
                    continue
                seen.add(k)
                groups.setdefault(k, (v, []))[1].append(d)
        order = sorted(groups.values(),
                       key=lambda g: (-len(g[1]), dumps(g[0])))
        buckets = []
        for v, ds in order[:size]:
            b = {}
            if isinstance(v, bool):
                b['key'] = 1 if v else 0
                b['key_as_string'] = 'true' if v else 'false'
            else:
                b['key'] = v
            b['doc_count'] = len(ds)
            if sub:
                b.update(run_aggs(sub, ds))
            buckets.append(b)
        out[name] = {'doc_count_error_upper_bound': 0,
                     'sum_other_doc_count': sum(len(g[1]) for g in order[size:]),
                     'buckets': buckets}
    return out


def page_iter(segs, after, skip, size, on_last=None):
    it = merged(segs, after)
    it = itertools.islice(it, skip, skip + size)
    for e in it:
        if on_last is not None:
            on_last(e[0])
        yield e


def do_search(index_expr, params, body, fault):
    t0 = time.time()
    req = parse_search(body, params)
    head = ''
    pit_id = None
    if req.pit is not None:
        if index_expr is not None:
            raise es_error(400, 'action_request_validation_exception',
                           'Validation Failed: 1: [indices] cannot be used with '
                           'point in time. Do not specify any index with point '
                           'in time.;')
        if FL['pit'] is None:
            raise parsing_error('Unknown key for a START_OBJECT in [pit].')
        if not isinstance(req.pit, dict) or 'id' not in req.pit:
            raise parsing_error('[pit] failed to parse: [id] is missing')
        pit_id = req.pit['id']
        with STATE_LOCK:
            ctx = PITS.get(pit_id)
        if ctx is None:
            raise missing_context(pit_id)
        indexes = ctx['indexes']
        head = '"pit_id":%s,' % dumps(pit_id)
    else:
        indexes = resolve(index_expr, params)
        indexes = [ix.snapshot() for ix in indexes]
    date_field = indexes[0].date_field if indexes else '@timestamp'
    sort = parse_sort(req.sort, date_field)
    if req.pit is not None and FL['tiebreak'] and sort is not None and \
            not any(f in ('_shard_doc', '_doc') for f, _ in sort):
        sort = sort + [('_shard_doc', False)]
    if req.scroll:
        if req.search_after is not None:
            raise bad_request('`search_after` cannot be used in a scroll context.')
        if req.size > MAX_WINDOW:
            raise window_error(req.from_ + req.size, indexes)
    elif req.from_ + req.size > MAX_WINDOW:
        raise window_error(req.from_ + req.size, indexes)
    after = None
    if req.search_after is not None:
        if sort is None:
            raise bad_request('Sort must contain at least one field.')
        if req.from_ not in (0, -1):
            raise bad_request('[from] parameter must be set to 0 when '
                              '[search_after] is used.')
        if not isinstance(req.search_after, list):
            raise parsing_error('[search_after] must be an array')
        after = after_key(req.search_after, sort, date_field)
    check_qs(indexes, req)
    segs, _ = build_segments(indexes, req, sort)
    total = sum(s.count() for s in segs)
    nshards = len(indexes) * FL['shards']
    if req.scroll:
        sc = ScrollCtx()
        sc.segs, sc.sort, sc.req, sc.total = segs, sort, req, total
        sc.nshards, sc.last = nshards, None
        sc.id = new_ctx_id('scroll')
        with STATE_LOCK:
            SCROLLS[sc.id] = sc
        head = '"_scroll_id":%s,' % dumps(sc.id)

        def on_last(k, sc=sc):
            sc.last = k
        hits = page_iter(segs, None, req.from_, req.size, on_last)
    else:
        hits = page_iter(segs, after, req.from_, req.size)
    aggs_text = None
    aspec = body.get('aggs', body.get('aggregations')) \
        if isinstance(body, dict) else None
    if aspec is not None:
        docs = [d for _, d in merged(build_segments(indexes, req, None)[0],
                                     None)]
        aggs_text = dumps(run_aggs(aspec, docs))
    took = int((time.time() - t0) * 1000) + 1
    return search_stream(head, req, sort, hits, total, nshards, fault, took,
                         aggs_text)


def window_error(n, indexes):
    reason = ('Result window is too large, from + size must be less than or '
              'equal to: [10000] but was [%d]. See the scroll api for a more '
              'efficient way to request large data sets. This limit can be set '
              'by changing the [index.max_result_window] index level setting.'
              % n)
    name = indexes[0].name if indexes else '_na_'
    cause = {'type': 'illegal_argument_exception', 'reason': reason}
    e = shard_phase_error(400, cause, name)
    e.body['error']['caused_by'] = dict(cause)
    return e


def missing_context(cid):
    cause = {'type': 'search_context_missing_exception',
             'reason': 'No search context found for id [%s]' % cid}
    return shard_phase_error(404, cause, '_na_')


def scroll_next(body, params, fault):
    t0 = time.time()
    b = body if isinstance(body, dict) else {}
    sid = b.get('scroll_id', params.get('scroll_id'))
    if not sid:
        raise es_error(400, 'action_request_validation_exception',
                       'Validation Failed: 1: scrollId is missing;')
    with STATE_LOCK:
        sc = SCROLLS.get(sid)
    if sc is None:
        raise missing_context(sid)
    head = '"_scroll_id":%s,' % dumps(sid)

    def on_last(k):
        sc.last = k
    hits = page_iter(sc.segs, sc.last, 0, sc.req.size, on_last)
    took = int((time.time() - t0) * 1000) + 1
    return search_stream(head, sc.req, sc.sort, hits, sc.total, sc.nshards,
                         fault, took)


def do_count(index_expr, params, body):
    b = body if isinstance(body, dict) else {}
    for k in b:
        if k != 'query':
            raise parsing_error('request does not support [%s]' % k)
    req = SearchReq()
    req.query = b.get('query')
    if 'q' in params:
        req.query = {'query_string': {'query': params['q']}}
    indexes = [ix.snapshot() for ix in resolve(index_expr, params)]
    check_qs(indexes, req)
    segs, _ = build_segments(indexes, req, None)
    n = len(indexes) * FL['shards']
    return {'count': sum(s.count() for s in segs),
            '_shards': {'total': n, 'successful': n, 'skipped': 0, 'failed': 0}}


def open_pit(index_expr, params):
    ka = params.get('keep_alive')
    if not ka:
        raise es_error(400, 'action_request_validation_exception',
                       'Validation Failed: 1: [keep_alive] is not specified;'
                       if FL['pit'] == 'es' else 'Validation Failed: 1: '
                       'keep alive not specified;')
    indexes = [ix.snapshot() for ix in resolve(index_expr, params)]
    pid = new_ctx_id('pit')
    with STATE_LOCK:
        PITS[pid] = {'indexes': indexes, 'keep_alive': ka}
    n = len(indexes) * FL['shards']
    shards = {'total': n, 'successful': n, 'skipped': 0, 'failed': 0}
    if FL['pit'] == 'os':
        return {'pit_id': pid, '_shards': shards, 'creation_time': now_ms()}
    if FLNAME == 'es8':
        return {'id': pid, '_shards': shards}
    return {'id': pid}


# ---------------------------------------------------------------- faults

def match_fault(method, path, full):
    with STATE_LOCK:
        for f in FAULTS:
            if f.get('left') is not None and f['left'] <= 0:
                continue
            m = f.get('method')
            if m and m.upper() != method:
                continue
            p = f.get('path')
            if p and not (re.search(p, path) or re.search(p, full)):
                continue
            # "every": K, "offset": J -- only the (J+1)th, (J+1+K)th...
            # request that reaches this fault gets it (a deterministic mix).
            if f.get('every'):
                f['seen'] = f.get('seen', 0) + 1
                if (f['seen'] - 1 - f.get('offset', 0)) % f['every'] != 0 \
                        or f['seen'] - 1 < f.get('offset', 0):
                    continue
            if f.get('left') is not None:
                f['left'] -= 1
            f['hits'] = f.get('hits', 0) + 1
            return dict(f)
    return None


# ---------------------------------------------------------------- HTTP

class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    server_version = 'fake-es'
    sys_version = ''
    _entry = None

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        try:
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass

    def log_message(self, fmt, *args):
        log(fmt % args)

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_HEAD(self):
        self.dispatch()

    def read_body(self):
        te = self.headers.get('Transfer-Encoding', '')
        if 'chunked' in te.lower():
            out = []
            while True:
                line = self.rfile.readline()
                n = int(line.split(b';')[0].strip() or b'0', 16)
                if n == 0:
                    while self.rfile.readline() not in (b'\r\n', b'\n', b''):
                        pass
                    break
                out.append(self.rfile.read(n))
                self.rfile.readline()
            return b''.join(out)
        n = int(self.headers.get('Content-Length') or 0)
        return self.rfile.read(n) if n > 0 else b''

    # Answers.
    def base_headers(self, ctype='application/json; charset=UTF-8'):
        self.send_header('Content-Type', ctype)
        if FL['product_header']:
            self.send_header('X-elastic-product', 'Elasticsearch')

    def send_raw(self, status, data, ctype='application/json; charset=UTF-8',
                 headers=None):
        if isinstance(data, str):
            data = data.encode('utf-8')
        self.send_response(status)
        self.base_headers(ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, str(v))
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        if self._entry is not None:
            self._entry['status'] = status
            self._entry['response_bytes'] = len(data)
        if self.command != 'HEAD':
            self.wfile.write(data)

    def authorized(self):
        got = self.headers.get('Authorization') or ''
        if AUTH.get('basic') and got == 'Basic ' + base64.b64encode(
                AUTH['basic'].encode()).decode():
            return True
        if AUTH.get('api_key') and got == 'ApiKey ' + AUTH['api_key']:
            return True
        return False

    def send_json(self, status, obj, headers=None):
        self.send_raw(status, dumps(obj), headers=headers)

    def send_stream(self, status, gen, truncate=None):
        """Chunked transfer of the pieces of gen, in ~64 KB chunks."""
        self.send_response(status)
        self.base_headers()
        self.send_header('Transfer-Encoding', 'chunked')
        self.end_headers()
        entry = self._entry or {}
        entry['status'] = status
        buf = []
        blen = 0
        sent = 0
        w = self.wfile
        for piece in gen:
            data = piece.encode('utf-8')
            buf.append(data)
            blen += len(data)
            if blen >= 65536:
                chunk = b''.join(buf)
                if truncate is not None and sent + len(chunk) >= truncate:
                    chunk = chunk[:max(0, truncate - sent)]
                    w.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                    w.flush()
                    self.close_connection = True
                    return
                w.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                sent += len(chunk)
                entry['response_bytes'] = sent
                buf, blen = [], 0
        if buf:
            chunk = b''.join(buf)
            if truncate is not None and sent + len(chunk) >= truncate:
                chunk = chunk[:max(0, truncate - sent)]
                if chunk:
                    w.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
                w.flush()
                self.close_connection = True
                return
            w.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
            entry['response_bytes'] = sent + len(chunk)
        w.write(b'0\r\n\r\n')

    def dispatch(self):
        t = time.time()
        self._entry = None
        u = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(u.path)
        params = dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True))
        raw = self.read_body()
        body = None
        body_err = None
        if raw.strip():
            try:
                body = json.loads(raw.decode('utf-8'))
            except (ValueError, UnicodeDecodeError) as e:
                body_err = str(e)
        method = self.command
        try:
            if path.startswith('/_fake/') or path == '/_fake':
                return self.control(method, path, params, body, body_err, raw)
            entry = {'method': method, 'path': path, 'query': params,
                     'qs': u.query,
                     'content_type': self.headers.get('Content-Type'),
                     'body': body if body_err is None else raw.decode(
                         'utf-8', 'replace'),
                     'time': round(t, 3), 'status': None,
                     'response_bytes': 0}
            entry['authorization'] = self.headers.get('Authorization')
            with STATE_LOCK:
                REQUESTS.append(entry)
            self._entry = entry
            if AUTH and not self.authorized():
                entry['status'] = 401
                e = es_error(401, 'security_exception', 'unable to '
                             'authenticate user for REST request [%s]' % path)
                return self.send_json(401, e.body, headers={
                    'WWW-Authenticate': 'Basic realm="security" charset="UTF-8"'})
            fault = match_fault(method, path, self.path)
            if fault is not None:
                if fault.get('delay_ms'):
                    time.sleep(fault['delay_ms'] / 1000.0)
                if fault.get('drop'):
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                if fault.get('garbage'):
                    return self.send_raw(fault.get('status', 200),
                                         '{"took":1,"hits":{"hits":[{"_index":',
                                         headers=fault.get('headers'))
                modifier = fault.get('shard_failure') or fault.get('timed_out') \
                    or fault.get('truncate_bytes') is not None
                if 'body' in fault or (fault.get('status') and not modifier):
                    fault.setdefault('status', 200)
                    b = fault.get('body')
                    if b is None:
                        b = default_fault_body(fault['status'])
                    if isinstance(b, str):
                        return self.send_raw(fault['status'], b,
                                             ctype=fault.get('content_type',
                                                             'text/plain; charset=UTF-8'),
                                             headers=fault.get('headers'))
                    return self.send_json(fault['status'], b,
                                          headers=fault.get('headers'))
            self.es(method, path, params, body, body_err, raw, fault)
        except ESError as e:
            self.send_json(e.status, e.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as e:	# a bug in the fake: say so loudly
            import traceback
            traceback.print_exc()
            try:
                self.send_json(500, {'error': {
                    'root_cause': [{'type': 'fake_es_bug', 'reason': str(e)}],
                    'type': 'fake_es_bug', 'reason': str(e)}, 'status': 500})
            except OSError:
                pass

    def es(self, method, path, params, body, body_err, raw, fault):
        if raw.strip():
            ct = self.headers.get('Content-Type')
            base = (ct or '').split(';')[0].strip().lower()
            if base not in ('application/json', 'application/x-ndjson',
                            'application/vnd.elasticsearch+json'):
                return self.send_json(406, {
                    'error': 'Content-Type header [%s] is not supported'
                    % (ct or ''), 'status': 406})
            if body_err is not None:
                raise es_error(400, 'json_parse_exception',
                               'Unexpected character: %s' % body_err)
        parts = [p for p in path.split('/') if p]
        truncate = fault.get('truncate_bytes') if fault else None
        if not parts:
            if method in ('GET', 'HEAD'):
                return self.send_json(200, identity())
            return self.no_handler(method, path)
        if parts == ['_search', 'scroll'] or (len(parts) == 3 and
                                              parts[:2] == ['_search', 'scroll']):
            if len(parts) == 3:
                params = dict(params, scroll_id=parts[2])
            if method in ('GET', 'POST'):
                return self.send_stream(200, scroll_next(body, params, fault),
                                        truncate)
            if method == 'DELETE':
                return self.clear_scroll(body, params, parts)
            return self.no_handler(method, path)
        if FL['pit'] == 'es' and parts == ['_pit']:
            if method != 'DELETE':
                return self.no_handler(method, path)
            pid = body.get('id') if isinstance(body, dict) else None
            if not pid:
                raise es_error(400, 'action_request_validation_exception',
                               'Validation Failed: 1: [id] is missing;')
            with STATE_LOCK:
                found = PITS.pop(pid, None) is not None
            return self.send_json(200 if found else 404,
                                  {'succeeded': True, 'num_freed': 1 if found else 0})
        if FL['pit'] == 'os' and parts[:2] == ['_search', 'point_in_time']:
            if method != 'DELETE':
                return self.no_handler(method, path)
            if parts[2:] == ['_all']:
                with STATE_LOCK:
                    ids = list(PITS)
                    PITS.clear()
                return self.send_json(200, {'pits': [
                    {'pit_id': i, 'successful': True} for i in ids]})
            ids = body.get('pit_id') if isinstance(body, dict) else None
            if isinstance(ids, str):
                ids = [ids]
            if not ids:
                raise es_error(400, 'action_request_validation_exception',
                               'Validation Failed: 1: no pit ids specified;')
            out = []
            with STATE_LOCK:
                for i in ids:
                    ok = PITS.pop(i, None) is not None
                    out.append({'pit_id': i, 'successful': ok})
            if not any(x['successful'] for x in out):
                raise missing_context(ids[0])
            return self.send_json(200, {'pits': out})
        if parts == ['_search']:
            if method not in ('GET', 'POST'):
                return self.no_handler(method, path)
            return self.send_stream(200, do_search(None, params, body, fault),
                                    truncate)
        if parts == ['_count']:
            return self.send_json(200, do_count(None, params, body))
        if len(parts) >= 2 and parts[0].startswith('_') is False:
            expr = parts[0]
            rest = parts[1:]
            if rest == ['_search'] and method in ('GET', 'POST'):
                return self.send_stream(200, do_search(expr, params, body, fault),
                                        truncate)
            if rest == ['_count'] and method in ('GET', 'POST'):
                return self.send_json(200, do_count(expr, params, body))
            if FL['pit'] == 'es' and rest == ['_pit'] and method == 'POST':
                return self.send_json(200, open_pit(expr, params))
            if FL['pit'] == 'os' and rest == ['_search', 'point_in_time'] \
                    and method == 'POST':
                return self.send_json(200, open_pit(expr, params))
        if len(parts) == 1 and not parts[0].startswith('_'):
            if method in ('GET', 'HEAD'):
                ix = resolve(parts[0], params)
                return self.send_json(200, {i.name: {
                    'aliases': {}, 'mappings': {}, 'settings': {'index': {
                        'uuid': i.uuid, 'number_of_shards': str(FL['shards'])}}}
                    for i in ix})
        return self.no_handler(method, path)

    def no_handler(self, method, path):
        self.send_json(400, {'error': 'no handler found for uri [%s] and method '
                             '[%s]' % (self.path, method), 'status': 400})

    def clear_scroll(self, body, params, parts):
        ids = None
        if isinstance(body, dict):
            ids = body.get('scroll_id')
        if ids is None and len(parts) == 3:
            ids = parts[2].split(',')
        if ids is None and 'scroll_id' in params:
            ids = params['scroll_id'].split(',')
        if isinstance(ids, str):
            ids = [ids]
        if not ids:
            raise es_error(400, 'action_request_validation_exception',
                           'Validation Failed: 1: no scroll ids specified;')
        n = 0
        with STATE_LOCK:
            if ids == ['_all']:
                n = len(SCROLLS)
                SCROLLS.clear()
            else:
                for i in ids:
                    if SCROLLS.pop(i, None) is not None:
                        n += 1
        self.send_json(200 if n > 0 else 404, {'succeeded': True, 'num_freed': n})

    # The control API.
    def control(self, method, path, params, body, body_err, raw):
        if body_err is not None:
            return self.send_json(400, {'error': 'bad JSON: %s' % body_err})
        try:
            if path == '/_fake/docs' and method == 'POST':
                if not isinstance(body, dict) or 'index' not in body:
                    return self.send_json(400, {'error': 'need {"index","docs"}'})
                n = add_docs(body['index'], body.get('docs', []),
                             body.get('date_field'))
                return self.send_json(200, {'added': n})
            if path == '/_fake/docs' and method == 'DELETE':
                with STATE_LOCK:
                    if 'index' in params:
                        INDEXES.pop(params['index'], None)
                    else:
                        INDEXES.clear()
                        SCROLLS.clear()
                        PITS.clear()
                return self.send_json(200, {'cleared': True})
            if path == '/_fake/docs' and method == 'GET':
                with STATE_LOCK:
                    return self.send_json(200, {n: ix.count()
                                                for n, ix in INDEXES.items()})
            if path == '/_fake/faults' and method == 'POST':
                fl = body if isinstance(body, list) else [body]
                with STATE_LOCK:
                    for f in fl:
                        if not isinstance(f, dict):
                            return self.send_json(400, {'error': 'faults are objects'})
                        if f.get('path'):
                            re.compile(f['path'])
                        f = dict(f)
                        f['left'] = f.get('times')
                        FAULTS.append(f)
                return self.send_json(200, {'faults': len(FAULTS)})
            if path == '/_fake/auth' and method == 'POST':
                # {"basic": "user:pass", "api_key": "KEY"}: required from now
                with STATE_LOCK:
                    AUTH.clear()
                    AUTH.update(body or {})
                return self.send_json(200, {'auth': sorted(AUTH)})
            if path == '/_fake/auth' and method == 'DELETE':
                with STATE_LOCK:
                    AUTH.clear()
                return self.send_json(200, {'cleared': True})
            if path == '/_fake/faults' and method == 'GET':
                with STATE_LOCK:
                    return self.send_json(200, FAULTS)
            if path == '/_fake/faults' and method == 'DELETE':
                with STATE_LOCK:
                    FAULTS.clear()
                return self.send_json(200, {'cleared': True})
            if path == '/_fake/requests' and method == 'GET':
                with STATE_LOCK:
                    return self.send_json(200, REQUESTS)
            if path == '/_fake/requests' and method == 'DELETE':
                with STATE_LOCK:
                    REQUESTS.clear()
                return self.send_json(200, {'cleared': True})
            if path == '/_fake/generate' and method == 'POST':
                b = body or {}
                name = b.get('index')
                if not name:
                    return self.send_json(400, {'error': 'need index'})
                ix = Index(name, b.get('date_field', '@timestamp'))
                ix.virtual = {'count': int(b.get('count', 0)),
                              'doc_bytes': int(b.get('doc_bytes', 200)),
                              'start_ms': int(b.get('start_ms', now_ms())),
                              'step_ms': int(b.get('step_ms', 1000)),
                              'fields': dict(b.get('fields') or {})}
                with STATE_LOCK:
                    INDEXES[name] = ix
                return self.send_json(200, {'index': name,
                                            'count': ix.virtual['count']})
            if path == '/_fake/contexts' and method == 'GET':
                with STATE_LOCK:
                    return self.send_json(200, {'scrolls': list(SCROLLS),
                                                'pits': list(PITS)})
            if path == '/_fake/state' and method == 'GET':
                return self.send_json(200, {'flavour': FLNAME})
        except (ValueError, DateError, re.error) as e:
            return self.send_json(400, {'error': str(e)})
        return self.send_json(404, {'error': 'no such control endpoint'})


def default_fault_body(status):
    if status == 429:
        t = 'es_rejected_execution_exception' if FL['dist'] is None \
            else 'rejected_execution_exception'
        return es_error(429, t, 'rejected execution of coordinating operation '
                        '[fake] on EsThreadPoolExecutor[name = node-1/search, '
                        'queue capacity = 1000]').body
    if status == 503:
        return {'error': {'root_cause': [], 'type': 'search_phase_execution_exception',
                          'reason': 'all shards failed', 'phase': 'query',
                          'grouped': True, 'failed_shards': []}, 'status': 503}
    if status == 401:
        return es_error(401, 'security_exception', 'missing authentication '
                        'credentials for REST request [/]').body
    return es_error(status, 'fake_fault', 'injected fault with status %d'
                    % status).body


def identity():
    v = {'number': FL['number']}
    if FL['dist']:
        v = {'distribution': FL['dist'], 'number': FL['number']}
    else:
        v['build_flavor'] = 'default'
    v.update({'build_type': 'deb', 'build_hash': FL['build_hash'],
              'build_date': FL['build_date'], 'build_snapshot': False,
              'lucene_version': FL['lucene'],
              'minimum_wire_compatibility_version': FL['min_wire'],
              'minimum_index_compatibility_version': FL['min_index']})
    tag = ('The OpenSearch Project: https://opensearch.org/' if FL['dist']
           else 'You Know, for Search')
    return {'name': 'fake-node-1', 'cluster_name': 'fake-%s' % FLNAME,
            'cluster_uuid': 'fAkEcLuStEr0uUiD4-11aa', 'version': v,
            'tagline': tag}


# ---------------------------------------------------------------- demo

USERS = ['root', 'admin', 'alice', 'bob', 'deploy', 'oracle', 'test', 'ubuntu']
HOSTS = ['web-1', 'web-2', 'db-1', 'bastion']
PATHS = ['/', '/login', '/api/v1/items', '/static/app.js', '/admin', '/health',
         '/wp-login.php', '/api/v1/orders']


def demo_doc(ms, rnd):
    ip = '%d.%d.%d.%d' % (rnd.choice([10, 192, 203, 198]), rnd.randint(0, 255),
                          rnd.randint(0, 255), rnd.randint(1, 254))
    host = rnd.choice(HOSTS)
    k = rnd.random()
    ts = iso_ms(ms)
    if k < 0.35:
        user = rnd.choice(USERS)
        port = rnd.randint(1024, 65535)
        ok = rnd.random() < 0.3
        msg = '%s password for %s from %s port %d ssh2' % (
            'Accepted' if ok else 'Failed', user, ip, port)
        return {'@timestamp': ts, 'host': host, 'program': 'sshd',
                'user': user, 'source_ip': ip, 'event': 'accepted' if ok else 'failed',
                'message': msg}
    if k < 0.85:
        status = rnd.choice([200] * 12 + [301, 304, 404, 404, 403, 500, 502, 503])
        p = rnd.choice(PATHS)
        meth = rnd.choice(['GET'] * 5 + ['POST'])
        size = rnd.randint(0, 40000)
        msg = '%s - - [%s] "%s %s HTTP/1.1" %d %d "-" "Mozilla/5.0"' % (
            ip, time.strftime('%d/%b/%Y:%H:%M:%S +0000', time.gmtime(ms / 1000)),
            meth, p, status, size)
        return {'@timestamp': ts, 'host': host, 'program': 'nginx',
                'source_ip': ip, 'method': meth, 'path': p, 'status': status,
                'bytes': size, 'message': msg}
    user = rnd.choice(USERS[1:5])
    cmd = rnd.choice(['/usr/bin/systemctl restart nginx', '/bin/cat /etc/shadow',
                      '/usr/bin/apt-get upgrade', '/bin/bash',
                      '/usr/bin/journalctl -u sshd'])
    msg = '%s : TTY=pts/0 ; PWD=/home/%s ; USER=root ; COMMAND=%s' % (user, user, cmd)
    return {'@timestamp': ts, 'host': host, 'program': 'sudo', 'user': user,
            'command': cmd, 'message': msg}


def demo_thread(stop):
    rnd = random.Random()
    t = now_ms()
    add_docs('logs-demo', [demo_doc(t - rnd.randint(0, 2 * 3600 * 1000), rnd)
                           for _ in range(600)])
    while not stop.wait(3.0):
        docs = [demo_doc(now_ms() - rnd.randint(0, 2000), rnd)
                for _ in range(rnd.randint(1, 6))]
        add_docs('logs-demo', docs)
        with STATE_LOCK:
            ix = INDEXES.get('logs-demo')
            if ix is not None and len(ix.docs) > 200000:
                del ix.docs[:50000]


def parent_watch(ppid):
    while True:
        time.sleep(1.0)
        if os.getppid() != ppid:
            os._exit(0)


def main():
    global FL, FLNAME, VERBOSE
    ap = argparse.ArgumentParser(description='Elasticsearch look-alike')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--flavour', '--flavor', default='es7', choices=sorted(FLAVOURS))
    ap.add_argument('--demo', action='store_true')
    ap.add_argument('--portfile')
    ap.add_argument('--exit-with-parent', action='store_true')
    ap.add_argument('--verbose', action='store_true')
    a = ap.parse_args()
    FL, FLNAME, VERBOSE = FLAVOURS[a.flavour], a.flavour, a.verbose

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True
        request_queue_size = 64

    srv = Server(('127.0.0.1', a.port), Handler)
    port = srv.server_address[1]
    if a.portfile:
        tmp = a.portfile + '.tmp'
        with open(tmp, 'w') as f:
            f.write('%d\n' % port)
        os.rename(tmp, a.portfile)
    if a.exit_with_parent:
        threading.Thread(target=parent_watch, args=(os.getppid(),),
                         daemon=True).start()
    stop = threading.Event()
    if a.demo:
        threading.Thread(target=demo_thread, args=(stop,), daemon=True).start()
    sys.stdout.write('listening 127.0.0.1:%d\n' % port)
    sys.stdout.flush()
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    stop.set()


if __name__ == '__main__':
    main()
