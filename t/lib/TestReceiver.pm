# TestReceiver.pm -- a local HTTP receiver for 411-notify's tests, and a
# helper to run 411-notify workers.
#
#   my $rc = TestReceiver->new(kind => 'webhook');  # or slack, pagerduty
#                                    # (port => P: on that port)
#   $rc->url;                        # http://127.0.0.1:PORT
#   $rc->set(fail => 2, status => 503);   # the next 2 requests fail
#   $rc->set(fail => 1, status => 429, retry_after => 1);
#   $rc->set(hang => 1, hang_for => 5);   # the next request hangs
#   $rc->set(status => 404, fail => 100, body => 'channel_not_found');
#   my @req = $rc->requests;         # [{method, path, headers, body,
#                                    #   outcome: ok|fail|hang}], in order
#   $rc->stop;
#
#   my $w = TestNotify->new(conf => "...", redis => $redis);
#   $w->start(type => 'webhook', name => 'w1');   # waits for "ready"
#   $w->stop; $w->kill9; $w->log; $w->check  # -n: (exit code, output)
#   $w->signal('HUP');               # to 411-notify itself
#
# Answers follow WIRE.md 7: webhook 200 {"ok":true}; slack 200 "ok" or a
# plain-text error string; pagerduty 202 {"status":"success",...,
# "dedup_key"} or 400/429 JSON.  Every answer closes the connection.  The
# receiver is one forked process serving one request at a time; requests
# are recorded as JSON lines in a file.  Core Perl only.
package TestReceiver;

use strict;
use warnings;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our @ALL;

sub new {
	my ($class, %o) = @_;
	my $self = bless {
		kind => $o{kind} || 'webhook',
		dir => tempdir('411-rcv-XXXXXX', TMPDIR => 1,
		    CLEANUP => !$ENV{T_KEEP}),
		json => JSON::PP->new->canonical->allow_nonref,
	}, $class;
	my $srv = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
	    LocalPort => $o{port} || 0, Proto => 'tcp', Listen => 128,
	    ReuseAddr => 1) or die "receiver: bind: $!";
	$self->{port} = $srv->sockport;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		$SIG{TERM} = sub { POSIX::_exit(0) };
		eval { $self->_serve($srv) };
		POSIX::_exit(0);
	}
	close($srv);
	$self->{pid} = $pid;
	push @ALL, $self;
	return $self;
}

sub url { "http://127.0.0.1:$_[0]{port}" }
sub port { $_[0]{port} }
sub logfile { "$_[0]{dir}/requests.jsonl" }

# Change the behaviour (through the receiver's control path).
sub set {
	my ($self, %o) = @_;
	my $res = HTTP::Tiny->new(timeout => 30)->post($self->url .
	    '/_control', { content => $self->{json}->encode(\%o),
	    headers => { 'Content-Type' => 'application/json' } });
	die "receiver control: $res->{status} $res->{content}"
	    unless $res->{success};
}

# The requests seen so far (control requests left out).
sub requests {
	my ($self) = @_;
	my @r;
	open(my $fh, '<', $self->logfile) or return ();
	while (my $line = <$fh>) {
		chomp($line);
		my $r = eval { $self->{json}->decode($line) } or next;
		push @r, $r;
	}
	close($fh);
	return @r;
}

# Wait until $n requests (or $cond->(@requests) true); returns the list.
sub wait_requests {
	my ($self, $n, $timeout) = @_;
	my $deadline = time + ($timeout || 30);
	my @r;
	while (time < $deadline) {
		@r = $self->requests;
		return @r if (ref $n ? $n->(@r) : @r >= $n);
		sleep(0.1);
	}
	return @r;
}

sub stop {
	my ($self) = @_;
	return unless $self->{pid};
	kill('TERM', $self->{pid});
	waitpid($self->{pid}, 0);
	$self->{pid} = undef;
}

sub DESTROY { $_[0]->stop }
END { $_->stop for @ALL }

# The child: serve requests one at a time.
sub _serve {
	my ($self, $srv) = @_;
	my %st = (fail => 0, status => 503, retry_after => undef,
	    body => undef, hang => 0, hang_for => 10);
	while (my $c = $srv->accept) {
		my $req = _read_request($c) or do { close($c); next };
		if ($req->{path} eq '/_control') {
			my $o = eval { $self->{json}->decode($req->{body}) }
			    || {};
			%st = (%st, %$o);
			_answer($c, 200, 'text/plain', "ok\n");
			close($c);
			next;
		}
		$req->{time} = time;
		$req->{outcome} = $st{hang} > 0 ? 'hang' : $st{fail} > 0 ?
		    'fail' : 'ok';
		if (open(my $fh, '>>', $self->logfile)) {
			print $fh $self->{json}->encode($req), "\n";
			close($fh);
		}
		if ($st{hang} > 0) {
			$st{hang}--;
			sleep($st{hang_for});
			close($c);
			next;
		}
		if ($st{fail} > 0) {
			$st{fail}--;
			$self->_fail($c, \%st);
		} else {
			$self->_ok($c, $req);
		}
		close($c);
	}
}

sub _ok {
	my ($self, $c, $req) = @_;
	my $k = $self->{kind};
	if ($k eq 'slack') {
		_answer($c, 200, 'text/html', 'ok');
	} elsif ($k eq 'pagerduty') {
		my $j = eval { $self->{json}->decode($req->{body}) } || {};
		_answer($c, 202, 'application/json', $self->{json}->encode({
		    status => 'success', message => 'Event processed',
		    dedup_key => $j->{dedup_key} // 'none' }));
	} else {
		_answer($c, 200, 'application/json', '{"ok":true}');
	}
}

sub _fail {
	my ($self, $c, $st) = @_;
	my $k = $self->{kind};
	my $s = $st->{status};
	my @h;
	push @h, "Retry-After: $st->{retry_after}"
	    if defined $st->{retry_after};
	my $body = $st->{body};
	if ($k eq 'slack') {
		$body //= $s == 404 ? 'channel_not_found' :
		    $s == 410 ? 'channel_is_archived' :
		    $s == 400 ? 'invalid_payload' :
		    $s == 429 ? 'rate_limited' : 'rollup_error';
		_answer($c, $s, 'text/plain', $body, @h);
	} elsif ($k eq 'pagerduty') {
		$body //= $s == 400 ? '{"status":"invalid event","message":' .
		    '"Event object is invalid","errors":["Length of ' .
		    '\'routing_key\' is incorrect"]}' : $s == 429 ?
		    '{"status":"throttle event","message":"Requests for ' .
		    'this service are arriving too quickly."}' : '';
		_answer($c, $s, 'application/json', $body, @h);
	} else {
		_answer($c, $s, 'text/plain', $body // "failing on purpose",
		    @h);
	}
}

sub _answer {
	my ($c, $status, $type, $body, @h) = @_;
	my $r = "HTTP/1.1 $status X\r\nContent-Type: $type\r\n" .
	    "Content-Length: " . length($body) . "\r\nConnection: close\r\n";
	$r .= "$_\r\n" for @h;
	$r .= "\r\n" . $body;
	local $SIG{PIPE} = 'IGNORE';
	print $c $r;
}

# One request: method, path, headers (lower-case names), body.
sub _read_request {
	my ($c) = @_;
	my $buf = '';
	my $deadline = time + 10;
	while ($buf !~ /\r\n\r\n/) {
		return undef if time > $deadline;
		my $n = sysread($c, $buf, 65536, length $buf);
		return undef unless $n;
	}
	my ($head, $rest) = split(/\r\n\r\n/, $buf, 2);
	my ($line, @hl) = split(/\r\n/, $head);
	my ($method, $path) = split(/ /, $line);
	my %h;
	for (@hl) {
		my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
		$h{lc $k} = $v;
	}
	my $len = $h{'content-length'} || 0;
	while (length($rest) < $len) {
		return undef if time > $deadline;
		my $n = sysread($c, $rest, $len - length($rest), length $rest);
		return undef unless $n;
	}
	return { method => $method, path => $path, headers => \%h,
	    body => $rest };
}

package TestNotify;

use strict;
use warnings;
use File::Temp qw(tempdir);
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

our @ALL;

sub binary {
	return $ENV{T_BUILDDIR} ? "$ENV{T_BUILDDIR}/src/411-notify" :
	    './src/411-notify';
}

# conf: the lines after "redis ..." (targets, worker directives).
sub new {
	my ($class, %o) = @_;
	my $self = bless {
		dir => $o{dir} || tempdir('411-ntf-XXXXXX', TMPDIR => 1,
		    CLEANUP => !$ENV{T_KEEP}),
		redis => $o{redis},
		conf => $o{conf} // '',
	}, $class;
	push @ALL, $self;
	return $self;
}

sub conffile { "$_[0]{dir}/411-notify.conf" }
sub logfile { "$_[0]{dir}/notify-" . ($_[0]{name} // 'x') . ".log" }
sub pid { $_[0]{pid} }

sub write_conf {
	my ($self) = @_;
	open(my $fh, '>', $self->conffile) or die "write conf: $!";
	print $fh "redis unix:" . $self->{redis}->socket . "\n"
	    if $self->{redis};
	print $fh "shutdown_grace 10s\n", $self->{conf}, "\n";
	close($fh);
}

# 411-notify -n: (exit status, output).
sub check {
	my ($self, @args) = @_;
	$self->write_conf;
	my $bin = binary();
	my $out = `$bin -n -c '@{[$self->conffile]}' @args 2>&1`;
	return ($? >> 8, $out);
}

sub start {
	my ($self, %o) = @_;
	die "already running" if $self->{pid};
	$self->{name} = $o{name} || 'w1';
	$self->write_conf;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0) {
		open(STDOUT, '>>', $self->logfile) or die;
		open(STDERR, '>>', $self->logfile) or die;
		setpgrp(0, 0);
		my @cmd = (binary(), '-d', '-v', '-c', $self->conffile,
		    '--target', $o{type} || 'webhook', '--name',
		    $self->{name});
		unshift @cmd, 'timeout', '-s', 'KILL', '600'
		    if -x '/usr/bin/timeout';
		exec(@cmd) or die "exec: $!";
	}
	$self->{pid} = $pid;
	my $deadline = time + 30;
	while (time < $deadline) {
		return $self if $self->log =~ /ready target=/;
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			die "411-notify exited during start-up:\n" . $self->log;
		}
		sleep(0.05);
	}
	die "411-notify not ready:\n" . $self->log;
}

# The 411-notify process itself (under timeout(1), its child).
sub worker_pid {
	my ($self) = @_;
	my $pid = $self->{pid} or return undef;
	if (open(my $fh, '<', "/proc/$pid/task/$pid/children")) {
		my ($c) = split(' ', <$fh> // '');
		close($fh);
		return $c if $c;
	}
	return $pid;
}

# Send a signal to 411-notify itself.
sub signal {
	my ($self, $sig) = @_;
	my $p = $self->worker_pid or return 0;
	return kill($sig, $p);
}

sub log {
	my ($self) = @_;
	open(my $fh, '<', $self->logfile) or return '';
	local $/;
	my $s = <$fh>;
	close($fh);
	return $s // '';
}

# SIGTERM and wait (SIGKILL after $timeout s); returns the exit status.
sub stop {
	my ($self, $timeout) = @_;
	return undef unless $self->{pid};
	my $pid = $self->{pid};
	# To 411-notify itself: timeout(1) would also signal the group,
	# and a second SIGTERM means "stop now".
	kill('TERM', $self->worker_pid);
	my $deadline = time + ($timeout || 30);
	while (time < $deadline) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			return $? >> 8;
		}
		sleep(0.05);
	}
	$self->kill9;
	return -1;
}

sub kill9 {
	my ($self) = @_;
	return unless $self->{pid};
	kill('KILL', -$self->{pid}) or kill('KILL', $self->{pid});
	waitpid($self->{pid}, 0);
	$self->{pid} = undef;
}

sub DESTROY { $_[0]->kill9 }
END { $_->kill9 for @ALL }

1;
