#!/usr/bin/python3
# smtp_sink.py DIR -- an SMTP server for the tests (aiosmtpd, Debian
# python3-aiosmtpd; run it with /usr/bin/python3).  Listens on 127.0.0.1
# on a free port, writes the port to DIR/port once it answers, and each
# message it accepts to DIR/N.eml (as received) and DIR/N.json (envelope,
# headers, the decoded text and HTML parts).  A recipient starting with
# "busy" gets 451, one starting with "nouser" gets 550.  Stops on SIGTERM.
import email, email.policy, json, os, signal, socket, sys, time
from aiosmtpd.controller import Controller

out = sys.argv[1]
count = 0


class Handler:
    async def handle_RCPT(self, server, session, envelope, address, opts):
        if address.startswith('busy'):
            return '451 4.3.0 try again later'
        if address.startswith('nouser'):
            return '550 5.1.1 no such user'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        global count
        count += 1
        raw = envelope.content
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        rec = {'mail_from': envelope.mail_from, 'rcpt_tos': envelope.rcpt_tos,
               'headers': [[k, str(v)] for k, v in msg.items()],
               'raw_headers': raw.split(b'\r\n\r\n', 1)[0].decode('ascii', 'replace'),
               'subject': str(msg.get('subject', '')),
               'content_type': msg.get_content_type(),
               'parts': [p.get_content_type() for p in msg.iter_parts()]
               if msg.is_multipart() else []}
        for kind in ('plain', 'html'):
            part = msg.get_body((kind,))
            rec[kind] = part.get_content() if part is not None else None
        base = os.path.join(out, str(count))
        with open(base + '.eml.tmp', 'wb') as f:
            f.write(raw)
        os.rename(base + '.eml.tmp', base + '.eml')
        with open(base + '.json.tmp', 'w') as f:
            json.dump(rec, f)
        os.rename(base + '.json.tmp', base + '.json')
        return '250 2.0.0 accepted'


s = socket.socket()
s.bind(('127.0.0.1', 0))
port = s.getsockname()[1]
s.close()
ctl = Controller(Handler(), hostname='127.0.0.1', port=port)
ctl.start()
with open(os.path.join(out, 'port.tmp'), 'w') as f:
    f.write('%d\n' % port)
os.rename(os.path.join(out, 'port.tmp'), os.path.join(out, 'port'))
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
while not stop:
    time.sleep(0.1)
ctl.stop()
