# FakeES.pm -- start t/fake/fake_es.py (an Elasticsearch look-alike) for a test.
#
#   plan skip_all => 'python3 not found' unless FakeES->available;
#   my $es = FakeES->new(flavour => 'es7');     # es6 es7 es8 os1 os2
#   $es->docs('logs-1', [{ '@timestamp' => '2024-01-01T00:00:00Z', ... }]);
#   $es->faults([{ path => '_search', status => 503, times => 1 }]);
#   my $log = $es->requests;                    # [{method,path,query,body,time}]
#   $es->generate(index => 'big', count => 1000, doc_bytes => 2000);
#   my ($status, $json, $raw) = $es->call(POST => '/logs-*/_search', \%body);
#   $es->stop;
#
# Core Perl only.  The fake exits when this process goes away
# (--exit-with-parent) and is killed in DESTROY and END.
package FakeES;

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use HTTP::Tiny;
use IO::Select;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);

our @ALL;

# The path of fake_es.py.
sub script {
	if ($ENV{T_SRCDIR} && -f "$ENV{T_SRCDIR}/t/fake/fake_es.py") {
		return "$ENV{T_SRCDIR}/t/fake/fake_es.py";
	}
	my $here = dirname(abs_path(__FILE__));
	return "$here/../fake/fake_es.py";
}

# The python3 to run, or undef.
sub python {
	for my $d (split /:/, $ENV{PATH} // '') {
		return "$d/python3" if length $d && -x "$d/python3";
	}
	return undef;
}

# True when the fake can run here.
sub available {
	return defined(python()) && -f script();
}

sub new {
	my ($class, %o) = @_;
	my $self = bless {
		flavour	=> $o{flavour} || 'es7',
		demo	=> $o{demo},
		json	=> JSON::PP->new->canonical->allow_nonref,
		http	=> HTTP::Tiny->new(timeout => $o{timeout} || 120,
		    keep_alive => 1),
		pid	=> undef,
	}, $class;
	$self->start;
	push @ALL, $self;
	return $self;
}

sub flavour { $_[0]{flavour} }
sub port { $_[0]{port} }
sub url { "http://127.0.0.1:$_[0]{port}" }
sub pid { $_[0]{pid} }

# Spawn the fake and wait (20 s at most) for its "listening" line.
sub start {
	my ($self) = @_;
	my $py = python() or die "FakeES: python3 not found\n";
	my @cmd = ($py, script(), '--port', '0', '--flavour',
	    $self->{flavour}, '--exit-with-parent');
	push @cmd, '--demo' if $self->{demo};
	push @cmd, '--verbose' if $ENV{T_FAKE_VERBOSE};
	my $pid = open(my $fh, '-|', @cmd)
	    or die "FakeES: cannot run @cmd: $!\n";
	$self->{pid} = $pid;
	$self->{fh} = $fh;
	my $sel = IO::Select->new($fh);
	my $deadline = time + 20;
	my $line = '';
	while (time < $deadline) {
		last unless $sel->can_read($deadline - time);
		my $n = sysread($fh, my $c, 1);
		last unless $n;
		last if $c eq "\n";
		$line .= $c;
	}
	if ($line =~ /^listening 127\.0\.0\.1:(\d+)$/) {
		$self->{port} = $1;
		return $self;
	}
	$self->stop;
	die "FakeES: the fake did not start (got \"$line\")\n";
}

# Stop the fake (TERM, then KILL after 5 s).
sub stop {
	my ($self) = @_;
	my $pid = $self->{pid};
	return unless $pid;
	kill 'TERM', $pid;
	my $deadline = time + 5;
	while (time < $deadline) {
		last if waitpid($pid, WNOHANG) == $pid;
		sleep 0.05;
	}
	if (kill 0, $pid) {
		kill 'KILL', $pid;
		waitpid($pid, 0);
	}
	$self->{pid} = undef;
	close($self->{fh}) if $self->{fh};
	$self->{fh} = undef;
}

sub DESTROY {
	my ($self) = @_;
	local ($?, $!, $@);
	$self->stop if $self->{pid};
}

END {
	local $?;
	for my $es (@ALL) {
		$es->stop if $es && $es->{pid};
	}
}

# One HTTP call: ($status, $decoded_json_or_undef, $raw, $response).  A
# reference body is sent as JSON with Content-Type application/json; a
# string as is (pass headers => {...} to choose its type).
sub call {
	my ($self, $method, $path, $body, %o) = @_;
	my %args = (headers => { %{ $o{headers} || {} } });
	if (defined $body) {
		if (ref $body) {
			$args{content} = $self->{json}->encode($body);
			$args{headers}{'Content-Type'} //= 'application/json';
		} else {
			$args{content} = $body;
		}
	}
	$args{data_callback} = $o{data_callback} if $o{data_callback};
	my $res = $self->{http}->request($method, $self->url . $path, \%args);
	my $json;
	if (defined $res->{content} && length $res->{content}) {
		$json = eval { $self->{json}->decode($res->{content}) };
	}
	return ($res->{status}, $json, $res->{content}, $res);
}

# A control call that must succeed; returns the decoded answer.
sub control {
	my ($self, $method, $path, $body) = @_;
	my ($st, $json, $raw) = $self->call($method, $path, $body);
	die "FakeES: $method $path: $st " . ($raw // '') . "\n"
	    unless $st == 200;
	return $json;
}

# Add docs (each with the date field, default @timestamp) to an index.
sub docs {
	my ($self, $index, $docs, %o) = @_;
	my %b = (index => $index, docs => $docs);
	$b{date_field} = $o{date_field} if $o{date_field};
	return $self->control(POST => '/_fake/docs', \%b)->{added};
}

sub clear { $_[0]->control(DELETE => '/_fake/docs') }

sub faults {
	my ($self, $faults) = @_;
	return $self->control(POST => '/_fake/faults', $faults);
}

sub clear_faults { $_[0]->control(DELETE => '/_fake/faults') }
sub requests { $_[0]->control(GET => '/_fake/requests') }
sub clear_requests { $_[0]->control(DELETE => '/_fake/requests') }
sub contexts { $_[0]->control(GET => '/_fake/contexts') }

# A virtual index: index, count, doc_bytes, start_ms, step_ms, fields.
sub generate {
	my ($self, %o) = @_;
	return $self->control(POST => '/_fake/generate', \%o);
}

# A search: ($status, $json, $raw).
sub search {
	my ($self, $index, $body, $query) = @_;
	my $path = defined $index ? "/$index/_search" : '/_search';
	$path .= "?$query" if defined $query && length $query;
	return $self->call(POST => $path, $body // {});
}

1;
