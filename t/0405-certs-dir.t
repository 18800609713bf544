#!/usr/bin/perl
# 0405-certs-dir.t -- the http search type's ca_file is the name of a file
# the operator put in certs_dir, never a path (issue 11): "/etc/shadow",
# "..", a symlink leaving certs_dir, and any ca_file without certs_dir are
# refused with 422 naming ca_file; a file swapped for a symlink out after
# the search was saved fails its run instead of being read.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use Test411;

my $bin = Test411::binary();
plan skip_all => "no 411d at $bin" unless -x $bin;

my $tmp = tempdir('411-certs-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $certs = "$tmp/certs";
mkdir($certs) or die "$certs: $!";
open(my $fh, '>', "$certs/ca.pem") or die;
print $fh "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
close($fh);
open($fh, '>', "$tmp/secret.pem") or die;
print $fh "secret\n";
close($fh);
symlink("$tmp/secret.pem", "$certs/out.pem") or die "symlink: $!";

my $d = Test411->new(conf => "certs_dir $certs");
$d->start;

my $n = 0;
sub http {
	my (%o) = @_;
	return { name => 'check ' . ++$n, type => 'http',
	    url => 'https://127.0.0.1:9/', schedule => { every => '1h' },
	    enabled => JSON::PP::false, %o };
}

sub refused {
	my ($ca, $re, $what) = @_;
	my ($st, $e) = $d->api(POST => '/api/v1/searches',
	    http(ca_file => $ca), key => 'editor');
	is($st, 422, "$what: refused") or diag explain $e;
	is($e->{error}{field}, 'ca_file', '... naming ca_file');
	like($e->{error}{message} // '', $re, "... $e->{error}{message}");
}

refused('/etc/shadow', qr/^must be a plain file name, not a path/,
    'ca_file /etc/shadow');
refused($d->conffile, qr/not a path/, 'ca_file 411d.conf by its path');
refused('../secret.pem', qr/not a path/, 'ca_file ../secret.pem');
refused('..', qr/must not start with '\.'/, 'ca_file ..');
refused('out.pem', qr/^"out\.pem" leads outside certs_dir/,
    'a symlink leaving certs_dir');
refused(7, qr/^must be the name of a file in certs_dir/, 'not a string');

my ($st, $s) = $d->api(POST => '/api/v1/searches', http(ca_file => 'ca.pem'),
    key => 'editor');
is($st, 201, 'a name in certs_dir is accepted') or diag explain $s;

# Swapped for a symlink out after it was saved: the run fails, unread.
unlink("$certs/ca.pem");
symlink("$tmp/secret.pem", "$certs/ca.pem") or die "symlink: $!";
($st, my $run) = $d->api(POST => "/api/v1/searches/$s->{id}/run", {});
like(($run->{error} // '') . join(' ', @{$run->{warnings} || []}),
    qr/ca_file: "ca\.pem" leads outside certs_dir/,
    'a ca_file swapped for a symlink out: the run fails')
    or diag explain $run;

# Without certs_dir (SIGHUP): every ca_file is refused.
$d->{conf} = '';
$d->write_conf;
my $pos = -s $d->logfile;
$d->signal('HUP');
ok($d->wait_for(sub { $d->log_since($pos) =~ /reloaded/ }, 30),
    'reloaded without certs_dir');
refused('ca.pem', qr/^certs_dir is not set in 411d\.conf/, 'no certs_dir');

is($d->stop, 0, '411d stops cleanly');
done_testing;
