#!/usr/bin/python3
# jira_fake.py DIR PROJECT AUTH -- a JIRA REST API v2 stand-in for the
# tests.  AUTH is "basic:USER:TOKEN" or "bearer:TOKEN".  Listens on
# 127.0.0.1 on a free port and writes it to DIR/port.
#   POST /rest/api/2/issue           201 {"id","key":"PROJECT-N","self"}
#   GET  /rest/api/2/search?jql=labels = "L"   {"issues":[...]} (WIRE.md 7.2)
#   POST /rest/api/2/issue/KEY/watchers        204 (404 for "nobody")
# Every request goes to DIR/requests.jsonl, the issues to DIR/issues.json.
# DIR/control.json, read at each request, may hold "create": a list of
# statuses for the next creates (popped; "lost" creates the issue but
# answers 502), and "retry_after".  Threaded: a client may keep a
# connection open and make the next request on another.
import base64, json, os, re, sys, threading, urllib.parse
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

out, project, auth = sys.argv[1], sys.argv[2], sys.argv[3]
issues = []
lock = threading.Lock()


def write(name, obj):
    with open(os.path.join(out, name + '.tmp'), 'w') as f:
        json.dump(obj, f)
    os.rename(os.path.join(out, name + '.tmp'), os.path.join(out, name))


def control():
    try:
        with open(os.path.join(out, 'control.json')) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def answer(self, status, obj=None, headers=()):
        body = b'' if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        if obj is not None:
            self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def authorized(self):
        got = self.headers.get('Authorization', '')
        kind, _, rest = auth.partition(':')
        if kind == 'bearer':
            return got == 'Bearer ' + rest
        return got == 'Basic ' + base64.b64encode(rest.encode()).decode()

    def handle_any(self, method):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n).decode('utf-8', 'replace') if n else ''
        with open(os.path.join(out, 'requests.jsonl'), 'a') as f:
            f.write(json.dumps({'method': method, 'path': self.path,
                                'auth': self.headers.get('Authorization'),
                                'content_type': self.headers.get('Content-Type'),
                                'body': body}) + '\n')
        if not self.authorized():
            return self.answer(401, {'errorMessages': [
                'You are not authenticated. Authentication required to perform this operation.'],
                'errors': {}})
        u = urllib.parse.urlsplit(self.path)
        if method == 'GET' and u.path == '/rest/api/2/search':
            jql = urllib.parse.parse_qs(u.query).get('jql', [''])[0]
            m = re.fullmatch(r'\s*labels\s*=\s*"([^"]*)"\s*', jql)
            if not m:
                return self.answer(400, {'errorMessages': [
                    "Error in the JQL Query: '%s'" % jql], 'errors': {}})
            found = [{'id': i['id'], 'key': i['key'], 'self': i['self'], 'fields': {}}
                     for i in issues if m.group(1) in i['fields'].get('labels', [])]
            return self.answer(200, {'startAt': 0, 'maxResults': 50,
                                     'total': len(found), 'issues': found})
        if method == 'POST' and u.path == '/rest/api/2/issue':
            try:
                f = json.loads(body)['fields']
            except (ValueError, KeyError, TypeError):
                return self.answer(400, {'errorMessages': ['Can not deserialize'], 'errors': {}})
            errors = {}
            if f.get('project', {}).get('key') != project:
                errors['project'] = 'valid project is required'
            s = f.get('summary')
            if not isinstance(s, str) or not s:
                errors['summary'] = 'You must specify a summary of the issue.'
            elif '\n' in s or '\r' in s or len(s) > 255:
                errors['summary'] = 'The summary is invalid because it contains newline characters.' \
                    if '\n' in s or '\r' in s else 'Summary must be less than 255 characters.'
            if errors:
                return self.answer(400, {'errorMessages': [], 'errors': errors})
            c = control()
            plan = c.get('create', [])
            status = None
            if plan:
                status = plan.pop(0)
                write('control.json', c)
            if status is not None and status != 'lost':
                hdr = [('Retry-After', str(c['retry_after']))] if 'retry_after' in c else []
                return self.answer(status, {'errorMessages': ['Internal server error'],
                                            'errors': {}}, hdr)
            num = len(issues) + 1
            i = {'id': str(10000 + num), 'key': '%s-%d' % (project, num),
                 'self': 'http://127.0.0.1/rest/api/2/issue/%d' % (10000 + num),
                 'fields': f, 'watchers': []}
            issues.append(i)
            write('issues.json', issues)
            if status == 'lost':
                return self.answer(502, None)
            return self.answer(201, {'id': i['id'], 'key': i['key'], 'self': i['self']})
        m = re.fullmatch(r'/rest/api/2/issue/([^/]+)/watchers', u.path)
        if method == 'POST' and m:
            for i in issues:
                if i['key'] == m.group(1):
                    try:
                        who = json.loads(body)
                    except ValueError:
                        who = None
                    if who == 'nobody' or not isinstance(who, str):
                        return self.answer(404, {'errorMessages': [
                            'The user "%s" does not exist' % who], 'errors': {}})
                    i['watchers'].append(who)
                    write('issues.json', issues)
                    return self.answer(204)
            return self.answer(404, {'errorMessages': ['Issue Does Not Exist'], 'errors': {}})
        return self.answer(404, {'errorMessages': ['not found'], 'errors': {}})

    def do_GET(self):
        with lock:
            self.handle_any('GET')

    def do_POST(self):
        with lock:
            self.handle_any('POST')


srv = ThreadingHTTPServer(('127.0.0.1', 0), H)
write('port', srv.server_address[1])
srv.serve_forever()
