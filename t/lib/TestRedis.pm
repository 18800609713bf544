# TestRedis.pm -- a private redis-server for a test, spoken to in RESP.
#
#   plan skip_all => 'redis-server not found' unless TestRedis->available;
#   my $r = TestRedis->new;                 # or ->new(password => 'pw')
#   $r->socket;                             # unix socket path (TCP is off)
#   $r->cmd('XRANGE', '411:events', '-', '+');  # decoded reply
#   my $err = $r->cmd_err('XADD', ...);     # error text, or undef if none
#   my $sub = $r->subscribe('411:events');  # own connection
#   my $msg = $sub->next_message(5);        # payload, or undef on timeout
#   $r->stop;  $r->start;  $r->kill9;  $r->pid;
#
# Replies: status and bulk strings as strings, integers as numbers, arrays
# as array refs, nil as undef.  An error reply dies with its text in cmd()
# (inside an array it stays a string).  The server runs from a temporary
# directory with --port 0 --save "" --appendonly no, and is killed in
# DESTROY and END.  Core Perl only.
package TestRedis;

use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Scalar::Util qw(weaken);
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(sleep time);

our @ALL;
our $TIMEOUT = 10;

# The redis-server binary, or undef.
sub server_binary {
	return $ENV{T_REDIS_SERVER} if $ENV{T_REDIS_SERVER};
	for my $d ('/usr/bin', '/usr/sbin', '/usr/local/bin',
	    split(/:/, $ENV{PATH} // '')) {
		return "$d/redis-server" if -x "$d/redis-server";
	}
	return undef;
}

# True when a redis-server can be started.
sub available {
	return defined server_binary() ? 1 : 0;
}

sub new {
	my ($class, %o) = @_;
	my $bin = server_binary() or die "redis-server not found\n";
	my $dir = $o{dir} || tempdir('411-redis-XXXXXX', TMPDIR => 1,
	    CLEANUP => !$ENV{T_KEEP});
	my $self = bless {
		bin	 => $bin,
		dir	 => $dir,
		socket	 => "$dir/redis.sock",
		password => $o{password},
		args	 => $o{args} || [],
		pid	 => undef,
		conn	 => undef,
		owner	 => $$,
	}, $class;
	push @ALL, $self;
	weaken($ALL[-1]);
	$self->start;
	return $self;
}

sub socket { $_[0]{socket} }
sub dir { $_[0]{dir} }
sub pid { $_[0]{pid} }
sub logfile { "$_[0]{dir}/redis.log" }

# Start the server (again: same dir and socket); waits until it answers.
sub start {
	my ($self) = @_;
	die "redis-server already running\n" if $self->{pid};
	$self->_drop;
	unlink $self->{socket};
	my @cmd = ($self->{bin}, '--port', '0',
	    '--unixsocket', $self->{socket}, '--unixsocketperm', '700',
	    '--save', '', '--appendonly', 'no', '--dir', $self->{dir});
	push @cmd, '--requirepass', $self->{password}
	    if defined $self->{password};
	push @cmd, @{$self->{args}};
	my $pid = fork;
	die "fork: $!\n" unless defined $pid;
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $self->logfile);
		open(STDERR, '>&', \*STDOUT);
		{ no warnings 'exec'; exec { $cmd[0] } @cmd; }
		POSIX::_exit(127);
	}
	$self->{pid} = $pid;
	my $end = time + $TIMEOUT;
	while (time < $end) {
		my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM,
		    Peer => $self->{socket});
		if ($s) {
			close $s;
			return $self;
		}
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			die "redis-server exited at start; see " .
			    $self->logfile . "\n";
		}
		sleep 0.05;
	}
	$self->kill9;
	die "redis-server did not start within ${TIMEOUT}s\n";
}

# Stop the server with SIGTERM (SIGKILL after the timeout).
sub stop {
	my ($self) = @_;
	$self->_drop;
	my $pid = $self->{pid} or return;
	kill 'CONT', $pid;
	kill 'TERM', $pid;
	my $end = time + $TIMEOUT;
	while (time < $end) {
		if (waitpid($pid, WNOHANG) == $pid) {
			$self->{pid} = undef;
			return;
		}
		sleep 0.05;
	}
	$self->kill9;
}

# Kill the server with SIGKILL and reap it.
sub kill9 {
	my ($self) = @_;
	$self->_drop;
	my $pid = $self->{pid} or return;
	kill 'KILL', $pid;
	waitpid($pid, 0);
	$self->{pid} = undef;
}

# Run a command; returns the decoded reply, dies on an error reply.
sub cmd {
	my ($self, @args) = @_;
	my ($reply, $err) = $self->_call(@args);
	die "redis $args[0]: $err\n" if defined $err;
	return $reply;
}

# Run a command that should fail; returns the error text, or undef.
sub cmd_err {
	my ($self, @args) = @_;
	my ($reply, $err) = $self->_call(@args);
	return $err;
}

# Subscribe to a channel on a connection of its own.
sub subscribe {
	my ($self, @channels) = @_;
	my $c = TestRedis::Conn->new($self->{socket}, $self->{password});
	$c->send('SUBSCRIBE', @channels);
	for (@channels) {
		my ($r) = $c->read_reply($TIMEOUT);
		die "redis SUBSCRIBE: no confirmation\n"
		    unless ref $r eq 'ARRAY' && $r->[0] eq 'subscribe';
	}
	return bless { conn => $c }, 'TestRedis::Sub';
}

sub _call {
	my ($self, @args) = @_;
	die "redis-server is not running\n" unless $self->{pid};
	$self->{conn} ||= TestRedis::Conn->new($self->{socket},
	    $self->{password});
	my ($reply, $err) = eval {
		$self->{conn}->send(@args);
		$self->{conn}->read_reply($TIMEOUT);
	};
	if ($@) {
		$self->_drop;
		die $@;
	}
	return ($reply, $err);
}

sub _drop {
	my ($self) = @_;
	$self->{conn}->close if $self->{conn};
	$self->{conn} = undef;
}

sub DESTROY {
	my ($self) = @_;
	return unless $self->{owner} == $$;
	local ($?, $!, $@);
	$self->kill9;
}

END {
	for my $r (@ALL) {
		next unless $r && $r->{owner} == $$;
		local ($?, $!, $@);
		$r->kill9;
	}
}

# One RESP connection over the unix socket, with a read buffer.
package TestRedis::Conn;

use strict;
use warnings;
use IO::Select;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use Time::HiRes qw(time);

sub new {
	my ($class, $path, $password) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM, Peer => $path)
	    or die "connect $path: $!\n";
	binmode $s;
	my $self = bless { sock => $s, buf => '' }, $class;
	if (defined $password) {
		$self->send('AUTH', $password);
		my ($r, $err) = $self->read_reply($TestRedis::TIMEOUT);
		die "redis AUTH: $err\n" if defined $err;
	}
	return $self;
}

# Send one command as a RESP array of bulk strings.
sub send {
	my ($self, @args) = @_;
	my $out = '*' . scalar(@args) . "\r\n";
	for my $a (@args) {
		my $b = defined $a ? "$a" : '';
		utf8::encode($b) if utf8::is_utf8($b);
		$out .= '$' . length($b) . "\r\n" . $b . "\r\n";
	}
	while (length $out) {
		my $n = syswrite($self->{sock}, $out);
		die "redis write: $!\n" unless defined $n;
		substr($out, 0, $n, '');
	}
}

# Read one reply: (value, undef), or (undef, error text) for an error
# reply; dies on timeout or EOF.  With $soft, a timeout returns ().
sub read_reply {
	my ($self, $timeout, $soft) = @_;
	my $end = time + $timeout;
	while (1) {
		my $pos = 0;
		my @r = _parse(\$self->{buf}, \$pos);
		if (@r) {
			substr($self->{buf}, 0, $pos, '');
			return @r;
		}
		my $left = $end - time;
		if ($left <= 0 || !IO::Select->new($self->{sock})->can_read($left))
		{
			return () if $soft;
			die "redis read: timeout\n";
		}
		my $n = sysread($self->{sock}, $self->{buf}, 65536,
		    length $self->{buf});
		die "redis read: $!\n" unless defined $n;
		die "redis read: connection closed\n" if $n == 0;
	}
}

# Parse one reply at $$pos; returns () when the buffer is incomplete, else
# (value, error).
sub _parse {
	my ($buf, $pos) = @_;
	my $eol = index($$buf, "\r\n", $$pos);
	return () if $eol < 0;
	my $type = substr($$buf, $$pos, 1);
	my $line = substr($$buf, $$pos + 1, $eol - $$pos - 1);
	my $next = $eol + 2;
	if ($type eq '+') {
		$$pos = $next;
		return ($line, undef);
	} elsif ($type eq '-') {
		$$pos = $next;
		return (undef, $line);
	} elsif ($type eq ':') {
		$$pos = $next;
		return (0 + $line, undef);
	} elsif ($type eq '$') {
		if ($line < 0) {
			$$pos = $next;
			return (undef, undef);
		}
		return () if length($$buf) < $next + $line + 2;
		$$pos = $next + $line + 2;
		return (substr($$buf, $next, $line), undef);
	} elsif ($type eq '*') {
		if ($line < 0) {
			$$pos = $next;
			return (undef, undef);
		}
		my @a;
		my $p = $next;
		for (1 .. $line) {
			my @r = _parse($buf, \$p);
			return () unless @r;
			push @a, defined $r[1] ? $r[1] : $r[0];
		}
		$$pos = $p;
		return (\@a, undef);
	}
	die "redis read: bad reply type '$type'\n";
}

sub close {
	my ($self) = @_;
	close $self->{sock} if $self->{sock};
	$self->{sock} = undef;
}

# A subscribed connection.
package TestRedis::Sub;

use strict;
use warnings;

# The next message's payload (in list context: channel, payload), or
# undef / () when none arrives within $timeout seconds.
sub next_message {
	my ($self, $timeout) = @_;
	$timeout //= $TestRedis::TIMEOUT;
	my $end = Time::HiRes::time() + $timeout;
	while (1) {
		my $left = $end - Time::HiRes::time();
		$left = 0 if $left < 0;
		my ($r) = $self->{conn}->read_reply($left, 1);
		return wantarray ? () : undef unless defined $r;
		next unless ref $r eq 'ARRAY' && @$r == 3 &&
		    $r->[0] eq 'message';
		return wantarray ? ($r->[1], $r->[2]) : $r->[2];
	}
}

sub close {
	my ($self) = @_;
	$self->{conn}->close if $self->{conn};
	$self->{conn} = undef;
}

sub DESTROY {
	$_[0]->close;
}

1;
