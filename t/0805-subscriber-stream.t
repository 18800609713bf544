#!/usr/bin/perl
# 0805-subscriber-stream.t -- contrib/subscriber-stream -e COMMAND: a
# COMMAND that does not read its input (or exits first) must not kill the
# subscriber with SIGPIPE; its exit status alone decides the XACK.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);
use TestRedis;

plan skip_all => 'redis-server not found' unless TestRedis->available;

my $src = $ENV{T_SRCDIR} // '.';
my $sub = "$src/contrib/subscriber-stream";
my $r = TestRedis->new;
my $sock = $r->socket;
my $tmp = tempdir(CLEANUP => 1);

# A payload larger than a pipe's buffer (64 KiB): writing it to a COMMAND
# that exits without reading always meets a closed pipe.
my $big = '{"schema":"411.event.v1","pad":"' . ('x' x 300_000) . '"}';
$r->cmd('XADD', '411:events', '*', 'v', '1', 'type', 'alert.created',
    'id', 'e1', 'payload', $big);
$r->cmd('XADD', '411:events', '*', 'v', '1', 'type', 'alert.created',
    'id', 'e2', 'payload', '{"small":1}');

my $out = `timeout 60 perl $sub -s $sock -g g1 -c me -n 2 -e true 2>&1`;
my $rc = $?;
is($rc & 127, 0, 'a COMMAND that does not read: no death by a signal')
    or diag "status $rc: $out";
is($rc >> 8, 0, '... exit 0');
my $p = $r->cmd('XPENDING', '411:events', 'g1');
is($p->[0], 0, '... and both events acknowledged (the COMMAND succeeded)');

# A COMMAND that reads nothing and fails: the event stays pending.
$out = `timeout 60 perl $sub -s $sock -g g2 -c me -n 1 -e false 2>&1 & sleep 5; kill \$! 2>/dev/null; wait`;
$p = $r->cmd('XPENDING', '411:events', 'g2');
cmp_ok($p->[0], '>=', 1, 'a failing COMMAND leaves its event pending');

# The COMMAND gets the whole payload on its stdin.
$out = `timeout 60 perl $sub -s $sock -g g3 -c me -n 1 -e 'wc -c > $tmp/n' 2>&1`;
is($? >> 8, 0, 'a COMMAND that reads: exit 0') or diag $out;
open(my $fh, '<', "$tmp/n") or die "$tmp/n: $!";
my $n = <$fh>;
close($fh);
$n =~ s/\s+//g;
is($n, length($big), '... the whole payload reached it');

done_testing;
